"""The office: collects what the fleet's rigs hand over, and shows it.

    mdu-office --broker mqtts://broker.office.lan:8883 --username office \\
               --password-file /etc/mdu-office/password --ca-file /etc/mdu-office/ca.pem \\
               --db /var/lib/mdu-office/office.sqlite --listen 127.0.0.1:8090

- :mod:`.storage` the one module that speaks to the database (SQLite; a
  server database replaces this module and nothing else);
- :mod:`.collector` the MQTT client: a persistent session, each message
  checked (:func:`appliance.fleet.messages.check`), stored once, then acked;
- :mod:`.report` the fleet's figures from what is stored;
- :mod:`.web` the fleet page, its JSON and CSV;
- :mod:`.cli` the ``mdu-office`` command.
"""
