"""A spec read from text (a task bundle) names the line of each mistake, and a
suite's score rule takes parameters."""

import pytest

from tasks import scoring
from tasks.errors import CatalogueError
from tasks.spec_files import parse_spec_text, suite_from_document
from tasks.spec_text import key_line
from tests.tasks.test_catalogue import MINIMAL


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def refused(text: str) -> CatalogueError:
    with pytest.raises(CatalogueError) as caught:
        parse_spec_text(text, source="bundle/suite.toml")
    return caught.value


def test_a_valid_spec_text_gives_the_suite_and_its_document():
    suite, document = parse_spec_text(MINIMAL, source="suite.toml")
    assert suite.name == "demo" and suite.tasks[0].name == "demo/one"
    assert document["tasks"]["one"]["version"] == 1
    assert suite_from_document(document, source="db") == suite


@pytest.mark.parametrize(
    ("old", "new", "needle", "code", "words"),
    [
        (
            "version = 1\n",
            "version = 1\nverison = 2\n",
            "verison",
            "catalogue.unknown_key",
            "did you mean 'version'?",
        ),
        (
            'metrics = ["accuracy"]',
            'metrics = ["acuracy"]',
            "acuracy",
            "catalogue.unknown_metric",
            "Did you mean 'accuracy'?",
        ),
        (
            'importer = "glue_tsv"',
            'importer = "glue_tvs"',
            "glue_tvs",
            "catalogue.unknown_importer",
            "Did you mean 'glue_tsv'",
        ),
        (
            'labels = ["0", "1"]\n',
            "",
            "[tasks.one]",
            "catalogue.missing_key",
            "needs 'labels'",
        ),
        (
            'validation = "dev.tsv"',
            'validaton = "dev.tsv"',
            "validaton",
            "catalogue.unknown_split",
            "'validaton'",
        ),
        (
            'name = "demo"',
            'name = "Demo Suite"',
            'name = "Demo Suite"',
            "catalogue.bad_name",
            "lower-case",
        ),
        (
            'score_rule = "mean_of_task_means"',
            'score_rule = "mean"',
            'score_rule = "mean"',
            "catalogue.unknown_score_rule",
            "mean_of_task_means",
        ),
    ],
)
def test_each_mistake_names_its_line_and_key(old, new, needle, code, words):
    text = MINIMAL.replace(old, new)
    error = refused(text)
    assert error.code == code
    assert error.line == line_of(text, needle)
    assert f"bundle/suite.toml, line {error.line}:" in error.message
    assert words in error.message


def test_toml_syntax_and_duplicate_keys_name_tomllib_s_line():
    text = MINIMAL.replace("version = 1", "version = 1\nversion = 2")
    error = refused(text)
    assert error.code == "catalogue.invalid_toml"
    assert error.line == line_of(text, "version = 2")
    assert "(at line" not in error.message  # said once, in our words


def test_score_rule_weights_must_name_tasks_and_be_positive():
    weighted = MINIMAL.replace(
        'score_rule_text = "Mean of tasks."',
        'score_rule_text = "Mean of tasks."\n\n'
        "[suite.score_rule_options]\nweights = { one = 2.0 }",
    )
    suite, _ = parse_spec_text(weighted, source="s.toml")
    assert suite.score_rule_options["weights"]["one"] == 2.0
    error = refused(weighted.replace("{ one = 2.0 }", "{ onw = 2.0 }"))
    assert error.code == "catalogue.unknown_task" and "Did you mean 'one'" in str(error)
    error = refused(weighted.replace("{ one = 2.0 }", "{ one = 0 }"))
    assert error.code == "catalogue.invalid_weight"
    assert error.line == line_of(weighted, "weights")
    error = refused(weighted.replace("weights", "wieghts"))
    assert error.code == "catalogue.unknown_key" and "'weights'" in str(error)


def test_weights_make_the_suite_score_a_weighted_mean():
    two = MINIMAL + MINIMAL[MINIMAL.index("[tasks.one]") :].replace(
        "[tasks.one]", "[tasks.two]"
    )
    suite, _ = parse_spec_text(two, source="s.toml")
    scores = {"demo/one": 0.9, "demo/two": 0.6}
    assert scoring.suite_score(suite, scores) == pytest.approx(0.75)
    weighted = two.replace(
        'score_rule_text = "Mean of tasks."',
        'score_rule_text = "Weighted."\nscore_rule_options = { weights = { one = 2 } }',
    )
    suite, _ = parse_spec_text(weighted, source="s.toml")
    assert scoring.suite_score(suite, scores) == pytest.approx((1.8 + 0.6) / 3)


def test_key_line_reads_dotted_headers_inline_tables_and_skips_strings():
    text = (
        "[suite]\n"
        'description = """\n'
        "version = 99\n"
        '"""\n'
        "[tasks.one.importer_options.splits.test]\n"
        'index_column = "index"\n'
        "[tasks.one]\n"
        'files = { train = "a", test = "b" }\n'
        "labels = [\n"
        '  "x",\n'
        "]\n"
        "version = 3\n"
    )
    assert key_line(text, ("suite",), "version") == 1  # not inside the string
    assert key_line(text, ("tasks", "one"), "version") == 12
    assert key_line(text, ("tasks", "one", "files"), "test") == 8
    assert key_line(text, ("tasks", "one", "importer_options"), "splits") == 5
    assert key_line(text, ("tasks", "one"), "missing") == 7
    assert key_line(text, ("nowhere",), "x") is None
