from genorrn.cli import run

run()
