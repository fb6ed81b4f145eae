"""The web console: a browser app served at ``/console/`` that talks to the server only through its public APIs."""
