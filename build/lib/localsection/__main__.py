from localsection.cli import main

main()
