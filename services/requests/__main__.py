from kit.service import main

from .wiring import SPEC

main(SPEC)
