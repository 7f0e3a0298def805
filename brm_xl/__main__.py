from brm_xl.cli import main

main()
