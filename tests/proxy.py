"""A loopback TCP proxy a drill can break: ``cut`` closes every connection through it and refuses new
ones (a broker's network gone, or the broker restarted); ``stall`` keeps them open and passes nothing
(a hung broker, a black-holed route); ``deafen`` passes requests on but holds every answer (a
server that did the work, whose reply is lost to a timeout); ``mend`` passes traffic again."""

import selectors
import socket
import threading

from tests.live import free_port


class BreakableProxy:
    def __init__(self, target_port: int):
        self.target = ("127.0.0.1", target_port)
        self.port = free_port()
        self.state = "open"
        self.pairs: list[tuple[socket.socket, socket.socket]] = []
        self.lock = threading.Lock()
        self.listener = socket.create_server(("127.0.0.1", self.port))
        self.stopping = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.state == "cut":
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=2)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.pairs.append((client, upstream))
            threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()

    def _pipe(self, client: socket.socket, upstream: socket.socket) -> None:
        selector = selectors.DefaultSelector()
        selector.register(client, selectors.EVENT_READ, upstream)
        selector.register(upstream, selectors.EVENT_READ, client)
        try:
            while not self.stopping.is_set() and (client, upstream) in self.pairs:
                if self.state == "stall":
                    self.stopping.wait(0.05)
                    continue
                for key, _ in selector.select(timeout=0.1):
                    if self.state == "deaf" and key.fileobj is upstream:
                        self.stopping.wait(0.01)
                        continue
                    data = key.fileobj.recv(65536)
                    if not data:
                        return
                    key.data.sendall(data)
        except OSError:
            return
        finally:
            selector.close()
            self._close(client, upstream)

    def _close(self, client: socket.socket, upstream: socket.socket) -> None:
        with self.lock:
            if (client, upstream) in self.pairs:
                self.pairs.remove((client, upstream))
        for sock in (client, upstream):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def cut(self) -> None:
        self.state = "cut"
        with self.lock:
            pairs = list(self.pairs)
        for pair in pairs:
            self._close(*pair)

    def stall(self) -> None:
        self.state = "stall"

    def deafen(self) -> None:
        self.state = "deaf"

    def mend(self) -> None:
        self.state = "open"

    def stop(self) -> None:
        self.stopping.set()
        self.listener.close()
        self.cut()
