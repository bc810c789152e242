"""How requests go out: retries and blocks, robots.txt, politeness, a browser."""
