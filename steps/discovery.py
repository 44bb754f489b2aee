"""Discovery document rules (DISC-*)."""

from urllib.parse import urlsplit

from pytest_bdd import parsers, then, when

from suite.checks import check


@when("the discovery document is read")
def read_discovery(discovery):
    check(discovery.status == 200, f"discovery answered HTTP {discovery.status}")


@then("its issuer is exactly the environment's issuer")
def issuer_matches(discovery, environment):
    published = discovery.metadata.get("issuer")
    check(published == environment.issuer,
          f"discovery publishes issuer {published!r}; the environment's issuer is {environment.issuer!r} "
          "(they must match exactly, RFC 8414 section 3.3)")


@then("it lists these endpoints on the issuer's host at the expected paths")
def endpoints_listed(discovery, environment, datatable):
    issuer = urlsplit(environment.issuer)
    expected_paths = environment.expectations.endpoint_paths
    for (name,) in datatable[1:]:
        url = discovery.metadata.get(name)
        check(isinstance(url, str) and url, f"discovery does not list {name}")
        parts = urlsplit(url)
        check(parts.scheme == issuer.scheme and parts.netloc == issuer.netloc,
              f"{name} {url!r} is not on the issuer's host {issuer.scheme}://{issuer.netloc}")
        if name in expected_paths:
            check(parts.path == expected_paths[name],
                  f"{name} is at {parts.path!r}; the documentation's path is {expected_paths[name]!r}")


@then(parsers.parse('its "{member}" includes "{value}"'))
def member_includes(discovery, member, value):
    values = discovery.metadata.get(member)
    check(isinstance(values, list), f"discovery member {member} is {values!r}, not a list")
    check(value in values, f"discovery member {member} is {values!r}; it does not include {value!r}")
