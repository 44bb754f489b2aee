"""The suite's own options on a command line, read before pytest parses it: pytest (argparse) keeps
the last of an option given twice, so `--env staging.yaml --env production.yaml` silently certified
production. Both sides refuse it as a usage error naming the option (docs/reference-exit-codes.md)."""


def option_values(arguments: list[str], option: str) -> list[str]:
    """The values of `option` in a command line (--option=VALUE or --option VALUE), in order."""
    values = []
    for index, argument in enumerate(arguments):
        if argument.startswith(f"{option}="):
            values.append(argument.removeprefix(f"{option}="))
        elif argument == option and index + 1 < len(arguments):
            values.append(arguments[index + 1])
    return values


def repeated_options(arguments: list[str], options: tuple[str, ...]) -> list[str]:
    """One line for each of `options` given more than once: which, with what, and the fix."""
    lines = []
    for option in options:
        values = option_values(arguments, option)
        if len(values) > 1:
            given = ", ".join(value[:80] for value in values)
            lines.append(f"{option} given {len(values)} times ({given}): only one is used. Give {option} once")
    return lines
