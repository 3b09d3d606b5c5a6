"""Drivers for ecd's system and browser tests: the built binary, the Cronofy simulator and real
nginx, started as production runs them and driven over real sockets. Standard library only."""
