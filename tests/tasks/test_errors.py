from tasks.errors import (
    CatalogueError,
    GlewError,
    ImportFormatError,
    PlatformError,
    UserError,
)


def test_error_carries_code_and_message_and_str_is_the_message():
    error = UserError("upload.zip_bomb", "The archive expands too much.")
    assert isinstance(error, GlewError)
    assert error.code == "upload.zip_bomb"
    assert error.message == "The archive expands too much."
    assert str(error) == "The archive expands too much."


def test_import_format_error_is_a_user_error_naming_file_and_line():
    error = ImportFormatError("import.bad_row", "bad", file="dev.tsv", line=7)
    assert isinstance(error, UserError)
    assert str(error) == "dev.tsv, line 7: bad"
    assert (error.file, error.line) == ("dev.tsv", 7)


def test_catalogue_error_is_a_platform_error_naming_file_and_task():
    error = CatalogueError("catalogue.x", "oops", file="glue.toml", task="cola")
    assert isinstance(error, PlatformError)
    assert "glue.toml" in str(error) and "'cola'" in str(error)
