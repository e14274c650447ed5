"""The local runner's configuration: the tutorial's listener is on by default and can be off."""

from services.mesh.envoy import Topology, render
from services.mesh.runner import Runner, RunnerConfig


def test_tutorial_listener_is_on_by_default() -> None:
    config = RunnerConfig.from_env({})
    assert config.compat_port == 50051
    assert "vuelos" in Runner(config).services


def test_tutorial_listener_off_means_no_service_and_no_listener() -> None:
    config = RunnerConfig.from_env({"AEROALPES_VUELOS_COMPAT": "0"})
    runner = Runner(config)
    assert config.compat_port is None and "vuelos" not in runner.services
    listeners = render(runner.topology())["static_resources"]["listeners"]
    assert [listener["name"] for listener in listeners] == ["edge", "internal"]


def test_tutorial_listener_on_renders_its_own_listener() -> None:
    topology = Topology(
        {"vuelos": ("127.0.0.1", 50069), "sagas": ("127.0.0.1", 50065)}, compat_port=50051
    )
    listeners = render(topology)["static_resources"]["listeners"]
    assert listeners[-1]["name"] == "vuelos"
    assert listeners[-1]["address"]["socket_address"]["port_value"] == 50051
