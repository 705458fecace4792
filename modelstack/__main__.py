from modelstack.cli import main

main()
