"""Telling people: who must hear about an event, and getting it to them by mail, chat gateway and in-app."""
