from deepgrad.cli import main

main()
