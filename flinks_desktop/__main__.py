from flinks_desktop.launch import main

raise SystemExit(main())
