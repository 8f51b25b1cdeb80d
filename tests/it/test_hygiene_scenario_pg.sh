#!/bin/sh
# test_hygiene_scenario_pg.sh - the hygiene scenario on PostgreSQL (the CTest `pg` fixture
# provides the server through BNC_PG_URL_FILE; see test_hygiene_scenario.sh).
exec sh "$(dirname "$0")/test_hygiene_scenario.sh" pg
