"""A fake clock for the Cekura client's retry tests: `time()` and `sleep()` on simulated time, and
the waits the client asked for."""


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.waits: list[float] = []

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds
