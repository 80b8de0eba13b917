"""A real SMTP server for Insats's tests (aiosmtpd): it accepts every mail and writes each
one, decoded, as a JSON file into a folder: the envelope's sender and recipients, the
Message-ID, the subject, and the plain-text and HTML parts.

    python3 tests/mail/smtp_sink.py --port 2525 --dir /tmp/mails [--refuse ADDRESS]… \
        [--refuse-sender ADDRESS]…

With --refuse it answers "550 no such mailbox" for that recipient, as a server does for an
address it does not know; with --refuse-sender it answers "550 5.7.1" to that sender, as a
server does for a sender it may not send for. It prints "ready" once it listens, and runs until it is stopped.
"""

import argparse
import email
import itertools
import json
import os
import signal
import threading
import time
from email import policy

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, folder, refused, refused_senders):
        self.folder = folder
        self.refused = set(address.lower() for address in refused)
        self.refused_senders = set(address.lower() for address in refused_senders)
        self.count = itertools.count()

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if address.lower() in self.refused_senders:
            return "550 5.7.1 Sender address rejected: not permitted to send"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.refused:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content, policy=policy.default)
        text = message.get_body(preferencelist=("plain",))
        html = message.get_body(preferencelist=("html",))
        record = {
            "from": envelope.mail_from,
            "to": envelope.rcpt_tos,
            "message_id": message["Message-ID"],
            "subject": str(message["Subject"]),
            "text": text.get_content() if text is not None else None,
            "html": html.get_content() if html is not None else None,
        }
        name = f"{time.time_ns():020d}-{next(self.count):04d}.json"
        partial = os.path.join(self.folder, name + ".part")
        with open(partial, "w", encoding="utf-8") as file:
            json.dump(record, file, ensure_ascii=False)
        os.rename(partial, os.path.join(self.folder, name))
        return "250 Message accepted for delivery"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--refuse", action="append", default=[])
    parser.add_argument("--refuse-sender", action="append", default=[])
    arguments = parser.parse_args()
    os.makedirs(arguments.dir, exist_ok=True)
    controller = Controller(Sink(arguments.dir, arguments.refuse, arguments.refuse_sender), hostname="127.0.0.1", port=arguments.port)
    controller.start()
    print("ready", flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    stopped.wait()
    controller.stop()


if __name__ == "__main__":
    main()
