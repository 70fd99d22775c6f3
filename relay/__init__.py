"""mailstage.relay: the SMTP submission service apps send through (`mailstage relay STAGE`).

Below the screens, above mailer/ (delivery) and store/; never imports Textual.
"""
