import pytest

from tasks.errors import UserError
from tasks.vocab import ByteVocab, ListOpsVocab, PixelVocab, get_vocabulary


def test_listops_vocab_gives_each_symbol_its_own_id():
    vocab = ListOpsVocab()
    ids = vocab.encode("[MIN [MAX [MED [SM ] ( ) 0 1 2 3 4 5 6 7 8 9", 100)
    assert len(set(ids)) == len(ids) == 17
    assert vocab.pad_id not in ids and max(ids) < vocab.vocab_size
    assert vocab.decode(vocab.encode("[SM 3 [MAX 1 2 ] ]", 10)) == "[SM 3 [MAX 1 2 ] ]"


def test_listops_vocab_refuses_unknown_symbols():
    with pytest.raises(UserError) as caught:
        ListOpsVocab().encode("[MAX 2 10 ]", 10)
    assert caught.value.code == "vocab.unknown_symbol"


def test_encode_truncates_to_max_length_and_can_prepend_cls():
    vocab = ByteVocab()
    assert vocab.encode("abcdef", 3) == [99, 100, 101]
    assert vocab.encode("abc", 3, add_cls=True) == [vocab.cls_id, 99, 100]
    assert len(vocab.encode("x" * 5000, 4000)) == 4000


def test_byte_vocab_encodes_utf8_bytes():
    assert ByteVocab().encode("é", 10) == [0xC3 + 2, 0xA9 + 2]
    assert ByteVocab().vocab_size == 258


def test_pixel_vocab_checks_levels():
    vocab = PixelVocab()
    assert vocab.encode([0, 128, 255], 1024) == [2, 130, 257]
    with pytest.raises(UserError):
        vocab.encode([256], 10)


def test_unknown_vocabulary_suggests_a_name():
    with pytest.raises(UserError, match="'bytes'"):
        get_vocabulary("byte")
