from backlint.cli import main

main()
