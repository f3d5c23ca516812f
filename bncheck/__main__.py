from bncheck.cli import run

run()
