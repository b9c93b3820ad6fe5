"""``python -m socioagent`` runs the ``socio`` command line."""

from socioagent.cli import main

main()
