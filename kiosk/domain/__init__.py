"""Pure domain rules: no I/O, no Kivy, OpenCV, SQLAlchemy or MQTT; `now` and ids are passed in."""
