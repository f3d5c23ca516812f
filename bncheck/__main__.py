from bncheck.command import run

run()
