"""The official Kubernetes Python client against the emulated apiserver.

Run by .ci/run (after `pip install kubernetes`): starts `host-test apiserver`, then lists,
creates, reads, replaces, patches and deletes a Lease through `CoordinationV1Api`, checking
the answers and the error statuses a real kube-apiserver gives. Exits non-zero on any mismatch.
"""

import datetime
import os
import subprocess
import sys
import tempfile
import time

from kubernetes import client, config
from kubernetes.client.rest import ApiException


def main(server_binary: str) -> None:
    work = tempfile.mkdtemp(prefix="kube-lease-py-")
    kubeconfig = os.path.join(work, "kubeconfig")
    server = subprocess.Popen(
        [server_binary, "apiserver", "--kubeconfig", kubeconfig, "--namespace", "netbird"],
        stdout=subprocess.DEVNULL,
    )
    try:
        # The server listens before it writes the kubeconfig; wait until the file is whole.
        deadline = time.time() + 60
        while True:
            try:
                config.load_kube_config(kubeconfig)
                break
            except Exception:  # absent or half-written
                if time.time() > deadline or server.poll() is not None:
                    sys.exit("the emulated apiserver did not start")
                time.sleep(0.1)
        check(client.CoordinationV1Api())
    finally:
        server.terminate()
        server.wait(timeout=10)


def expect_status(call, code: int, reason: str) -> None:
    try:
        call()
    except ApiException as e:
        assert e.status == code, (e.status, e.body)
        assert f'"reason":"{reason}"' in e.body, e.body
        return
    raise AssertionError(f"expected {code} {reason}")


def check(api: client.CoordinationV1Api) -> None:
    ns = "netbird"
    assert api.list_namespaced_lease(ns).items == []
    now = datetime.datetime(2026, 11, 28, 10, 0, 0, 123456, tzinfo=datetime.timezone.utc)
    body = client.V1Lease(
        metadata=client.V1ObjectMeta(name="py-lease", annotations={"netbird.io/domain": "example.com"}),
        spec=client.V1LeaseSpec(holder_identity="py", lease_duration_seconds=300, acquire_time=now, renew_time=now),
    )
    created = api.create_namespaced_lease(ns, body)
    assert created.metadata.uid and created.metadata.resource_version
    assert created.spec.acquire_time == now, created.spec.acquire_time
    expect_status(lambda: api.create_namespaced_lease(ns, body), 409, "AlreadyExists")

    read = api.read_namespaced_lease("py-lease", ns)
    assert read.spec.holder_identity == "py"
    read.spec.holder_identity = "py-2"
    replaced = api.replace_namespaced_lease("py-lease", ns, read)
    assert replaced.spec.holder_identity == "py-2"
    assert replaced.metadata.resource_version != read.metadata.resource_version
    expect_status(lambda: api.replace_namespaced_lease("py-lease", ns, read), 409, "Conflict")

    patched = api.patch_namespaced_lease("py-lease", ns, {"metadata": {"labels": {"tier": "edge"}}})
    assert patched.metadata.labels == {"tier": "edge"}
    assert [l.metadata.name for l in api.list_lease_for_all_namespaces().items] == ["py-lease"]

    api.delete_namespaced_lease("py-lease", ns)
    expect_status(lambda: api.read_namespaced_lease("py-lease", ns), 404, "NotFound")
    print("python-client: 1 passed, 0 failed")


if __name__ == "__main__":
    main(sys.argv[1])
