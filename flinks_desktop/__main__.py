from flinks_desktop.cli import main

raise SystemExit(main())
