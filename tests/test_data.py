"""deepgrad.data: built-in datasets, CSV/NPZ/IDX files, splits, standardisation."""

import doctest
import gzip
import json
import sys
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import datasets as sk_datasets

from deepgrad.data import (
    Dataset,
    Standardizer,
    available_datasets,
    load_csv,
    load_dataset,
    load_idx,
    load_npz,
    one_hot,
    train_val_test_split,
)
from deepgrad.data import datasets as datasets_module
from deepgrad.data import files as files_module
from deepgrad.data import preprocessing as preprocessing_module
from deepgrad.data.files import read_idx, write_idx

GENERATED = ["moons", "circles", "spirals", "blobs", "gauss"]
REAL = {  # name: (n_samples, n_features, n_classes)
    "iris": (150, 4, 3),
    "wine": (178, 13, 3),
    "breast_cancer": (569, 30, 2),
    "digits": (1797, 64, 10),
}


def write(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


# ------------------------------------------------------------------ built-in datasets


@pytest.mark.parametrize(
    "name, labels", [("xor", [0, 1, 1, 0]), ("and", [0, 0, 0, 1]), ("or", [0, 1, 1, 1])]
)
def test_logic_gates_are_the_labs_four_points(name, labels):
    ds = load_dataset(name)
    assert ds.X.dtype == np.float32 and ds.y.dtype == np.int64
    assert ds.X.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]]
    assert ds.y.tolist() == labels
    assert ds.task == "binary" and ds.n_classes == 2 and ds.class_names == ["0", "1"]


@pytest.mark.parametrize("name", GENERATED)
def test_generated_sets_have_requested_size_dtypes_and_all_classes(name):
    ds = load_dataset(name, n_samples=90, noise=0.1, seed=3)
    assert ds.X.shape == (90, 2) and ds.X.dtype == np.float32
    assert ds.y.shape == (90,) and ds.y.dtype == np.int64
    assert ds.n_classes == len(ds.class_names) == (3 if name == "blobs" else 2)
    assert sorted(np.unique(ds.y).tolist()) == list(range(ds.n_classes))
    assert np.bincount(ds.y).min() >= 90 // ds.n_classes - 1  # balanced classes


@pytest.mark.parametrize("name", GENERATED)
def test_generated_sets_repeat_with_a_seed_and_differ_across_seeds(name):
    first = load_dataset(name, n_samples=50, seed=7)
    again = load_dataset(name, n_samples=50, seed=7)
    other = load_dataset(name, n_samples=50, seed=8)
    np.testing.assert_array_equal(first.X, again.X)
    np.testing.assert_array_equal(first.y, again.y)
    assert not np.array_equal(first.X, other.X)


@pytest.mark.parametrize("name", ["moons", "circles", "spirals", "gauss"])
def test_noise_zero_and_large_noise_change_the_spread(name):
    clean = load_dataset(name, n_samples=200, noise=0.0, seed=0)
    noisy = load_dataset(name, n_samples=200, noise=0.5, seed=0)
    assert noisy.X.std() > clean.X.std() * 1.01


def test_spirals_noise_free_arms_are_point_reflections_of_each_other():
    ds = load_dataset("spirals", n_samples=100, noise=0.0)
    assert np.bincount(ds.y).tolist() == [50, 50]
    radius = np.linalg.norm(ds.X, axis=1)
    assert radius.max() == pytest.approx(1.0)
    arm0, arm1 = (ds.X[ds.y == k][np.argsort(radius[ds.y == k])] for k in (0, 1))
    np.testing.assert_allclose(arm1, -arm0, atol=1e-6)  # second arm = first + pi


@pytest.mark.parametrize("name", REAL)
def test_sklearn_real_sets_have_their_shapes_and_names(name):
    from sklearn import datasets

    n_samples, n_features, n_classes = REAL[name]
    ds = load_dataset(name)
    bunch = getattr(datasets, f"load_{name}")()
    assert ds.X.shape == (n_samples, n_features) and ds.X.dtype == np.float32
    assert ds.y.dtype == np.int64 and ds.n_classes == n_classes
    np.testing.assert_array_equal(ds.y, bunch.target)
    assert ds.feature_names == [str(f) for f in bunch.feature_names]
    assert ds.class_names == [str(c) for c in bunch.target_names]
    assert ds.task == ("binary" if n_classes == 2 else "multiclass")


def test_available_datasets_describe_what_load_dataset_returns():
    listed = available_datasets()
    assert [d["name"] for d in listed] == ["xor", "and", "or", *GENERATED, *REAL]
    for info in listed:
        ds = load_dataset(info["name"])
        assert (ds.n_samples, ds.n_features, ds.n_classes, ds.task) == (
            info["n_samples"],
            info["n_features"],
            info["n_classes"],
            info["task"],
        )
        assert info["description"]


def test_unknown_dataset_name_lists_the_available_ones():
    with pytest.raises(ValueError, match="Unknown dataset 'mnist'.*xor.*moons.*digits"):
        load_dataset("mnist")


def test_fixed_datasets_reject_n_samples_and_noise():
    with pytest.raises(ValueError, match="'xor' is fixed.*moons"):
        load_dataset("xor", n_samples=100)
    with pytest.raises(ValueError, match="'iris' is fixed"):
        load_dataset("iris", noise=0.1)


def test_generated_sets_reject_too_few_samples_and_negative_noise():
    with pytest.raises(ValueError, match="n_samples >= 3"):
        load_dataset("blobs", n_samples=2)
    with pytest.raises(ValueError, match="noise >= 0"):
        load_dataset("moons", noise=-0.1)
    with pytest.raises(TypeError, match="n_samples to be an int"):
        load_dataset("moons", n_samples=10.5)


# the 2-D sets are scikit-learn's generators written in NumPy: the same points
SKLEARN_GENERATOR = {  # name: make_* call with load_dataset's other arguments
    "moons": lambda n, noise, seed: sk_datasets.make_moons(
        n, noise=noise, random_state=seed
    ),
    "circles": lambda n, noise, seed: sk_datasets.make_circles(
        n, noise=noise, factor=0.5, random_state=seed
    ),
    "blobs": lambda n, noise, seed: sk_datasets.make_blobs(
        n, n_features=2, centers=3, cluster_std=noise, random_state=seed
    ),
    "gauss": lambda n, noise, seed: sk_datasets.make_blobs(
        n, centers=[[2.0, 2.0], [-2.0, -2.0]], cluster_std=noise, random_state=seed
    ),
}


@settings(max_examples=60, deadline=None)
@given(
    name=st.sampled_from(sorted(SKLEARN_GENERATOR)),
    n_samples=st.integers(3, 300),
    noise=st.floats(0.0, 2.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_generated_sets_equal_scikit_learns_generators(name, n_samples, noise, seed):
    """moons, circles, blobs and gauss give exactly scikit-learn's make_moons,
    make_circles and make_blobs points and labels for every size, noise and seed,
    though deepgrad never imports scikit-learn to make them."""
    ds = load_dataset(name, n_samples=n_samples, noise=noise, seed=seed)
    X, y = SKLEARN_GENERATOR[name](n_samples, noise, seed)
    np.testing.assert_array_equal(ds.X, X.astype(np.float32))
    np.testing.assert_array_equal(ds.y, y)


def test_only_scikit_learns_real_sets_need_an_extra():
    """available_datasets names the extra each set needs: sklearn for the four
    real sets, none for the gates and the generated sets."""
    extras = {d["name"]: d["extra"] for d in available_datasets()}
    assert {name for name, extra in extras.items() if extra} == set(REAL)
    assert {extras[name] for name in REAL} == {"sklearn"}


@pytest.mark.parametrize("name", REAL)
def test_real_sets_without_scikit_learn_raise_one_line_naming_the_extra(
    name, monkeypatch
):
    """Without scikit-learn, a real set raises an ImportError whose message is one
    line naming the extra that installs it (no chained traceback), while the
    generated sets still load."""
    monkeypatch.setitem(sys.modules, "sklearn", None)
    with pytest.raises(ImportError) as raised:
        load_dataset(name)
    assert str(raised.value) == (
        f"the {name} dataset comes with scikit-learn, which is not installed: "
        "pip install 'deepgrad[sklearn]'"
    )
    assert raised.value.name == "sklearn"
    assert raised.value.__suppress_context__
    assert load_dataset("moons", n_samples=10).n_samples == 10


def test_dataset_rejects_y_of_the_wrong_length():
    with pytest.raises(ValueError, match="X has 3 samples but y has 2"):
        Dataset(
            "bad", np.zeros((3, 2), np.float32), np.zeros(2), ["a", "b"], None, "binary"
        )


# ------------------------------------------------------------------------------ CSV


def test_csv_maps_string_labels_to_sorted_indices_and_keeps_names(tmp_path):
    path = write(tmp_path, "a,b,label\n1,2,dog\n3,4,cat\n5,6.5,bird\n7,8,cat\n")
    ds = load_csv(path, target="label")
    assert ds.X.dtype == np.float32 and ds.X.tolist() == [
        [1, 2],
        [3, 4],
        [5, 6.5],
        [7, 8],
    ]
    assert ds.class_names == ["bird", "cat", "dog"]
    assert ds.y.dtype == np.int64 and ds.y.tolist() == [2, 1, 0, 1]
    assert ds.feature_names == ["a", "b"]
    assert ds.task == "multiclass" and ds.name == "data"


def test_csv_target_column_may_sit_anywhere_and_integer_labels_sort_numerically(
    tmp_path,
):
    path = write(tmp_path, "y,x\n10,0.5\n2,1.5\n9,2.5\n2.0,3\n")
    ds = load_csv(path, target="y")
    assert ds.class_names == ["2", "9", "10"]
    assert ds.y.tolist() == [2, 0, 1, 0]
    assert ds.X[:, 0].tolist() == [0.5, 1.5, 2.5, 3.0]


def test_csv_tolerates_spaces_a_byte_order_mark_and_blank_lines(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufeffx, y ,label\r\n1, 2,yes\r\n\r\n3,4, no\r\n".encode())
    ds = load_csv(path, target="label")
    assert ds.feature_names == ["x", "y"]
    assert ds.X.tolist() == [[1, 2], [3, 4]] and ds.class_names == ["no", "yes"]


def test_csv_missing_target_column_lists_the_columns(tmp_path):
    path = write(tmp_path, "a,b,class\n1,2,x\n3,4,y\n")
    with pytest.raises(
        ValueError, match="no column named 'label'; columns are: a, b, class"
    ):
        load_csv(path, target="label")


def test_csv_semicolon_file_gets_a_delimiter_hint(tmp_path):
    path = write(tmp_path, "a;b;label\n1;2;x\n")
    with pytest.raises(ValueError, match="comma"):
        load_csv(path, target="label")


@pytest.mark.parametrize("cell", ["", "NA", "nan", "?"])
def test_csv_missing_feature_value_names_column_and_line(tmp_path, cell):
    path = write(tmp_path, f"a,b,label\n1,2,x\n3,{cell},y\n5,6,x\n")
    with pytest.raises(ValueError, match="column 'b' has a missing value on line 3"):
        load_csv(path, target="label")


def test_csv_non_numeric_feature_names_column_value_and_line(tmp_path):
    path = write(tmp_path, "size,color,label\n1,2,x\n3,4,y\n5,red,x\n")
    with pytest.raises(
        ValueError, match="column 'color' is not numeric: 'red' on line 4.*encode"
    ):
        load_csv(path, target="label")


def test_csv_infinite_feature_is_rejected(tmp_path):
    path = write(tmp_path, "a,label\n1,x\ninf,y\n")
    with pytest.raises(ValueError, match="column 'a' holds 'inf' on line 3"):
        load_csv(path, target="label")


def test_csv_line_numbers_count_quoted_multiline_cells(tmp_path):
    path = write(tmp_path, 'a,note,label\n1,"two\nlines",x\n2,oops,y\n')
    with pytest.raises(
        ValueError, match="column 'note' is not numeric: 'two\\\\nlines' on line 3"
    ):
        load_csv(path, target="label")


def test_csv_missing_label_names_the_line(tmp_path):
    path = write(tmp_path, "a,label\n1,x\n2,\n3,y\n")
    with pytest.raises(ValueError, match="missing label on line 3"):
        load_csv(path, target="label")


def test_csv_label_named_like_a_missing_marker_is_a_class(tmp_path):
    path = write(tmp_path, "a,severity\n1,none\n2,high\n")
    assert load_csv(path, target="severity").class_names == ["high", "none"]


def test_csv_one_class_only_is_rejected(tmp_path):
    path = write(tmp_path, "a,label\n1,spam\n2,spam\n3,spam\n")
    with pytest.raises(ValueError, match="one class only \\('spam'\\)"):
        load_csv(path, target="label")


def test_csv_without_header_row_is_rejected(tmp_path):
    path = write(tmp_path, "1,2,0\n3,4,1\n")
    with pytest.raises(ValueError, match="looks like data; add a header row"):
        load_csv(path, target="label")


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "is empty"),
        ("a,label\n", "no data rows"),
        ("a,a,label\n1,2,x\n", "'a' appears 2 times"),
        ("a,,label\n1,2,x\n", "column 2 has no name"),
        ("a,b,label\n1,2,x\n1,x\n", "line 3 has 2 values but the header has 3"),
        ("label\nx\ny\n", "only the target column"),
    ],
)
def test_csv_malformed_files_are_rejected_with_a_reason(tmp_path, text, message):
    with pytest.raises(ValueError, match=message):
        load_csv(write(tmp_path, text), target="label")


def test_csv_non_integer_numeric_target_is_read_as_regression(tmp_path):
    path = write(tmp_path, "rooms,price\n3,250.5\n4,310.25\n2,199\n")
    ds = load_csv(path, target="price")
    assert ds.task == "regression" and ds.class_names is None
    assert ds.y.dtype == np.float32 and ds.y.tolist() == [250.5, 310.25, 199.0]


def test_csv_at_predict_time_maps_labels_with_the_models_class_names(tmp_path):
    path = write(tmp_path, "a,label\n1,dog\n2,dog\n3,1\n")
    ds = load_csv(path, target="label", class_names=["1", "cat", "dog"])
    assert ds.y.tolist() == [2, 2, 0]  # one class present is fine at predict time
    assert ds.class_names == ["1", "cat", "dog"] and ds.task == "multiclass"


def test_csv_unseen_label_at_predict_time_names_it_and_the_known_classes(tmp_path):
    path = write(tmp_path, "a,label\n1,cat\n2,cow\n")
    with pytest.raises(
        ValueError,
        match="label 'cow' .* on line 3 is not one of the model's classes: cat, dog",
    ):
        load_csv(path, target="label", class_names=["cat", "dog"])


def test_csv_without_target_reads_features_only(tmp_path):
    path = write(tmp_path, "a,b\n1,2\n3,4\n")
    ds = load_csv(path, target=None, class_names=["no", "yes"])
    assert ds.X.tolist() == [[1, 2], [3, 4]] and ds.feature_names == ["a", "b"]
    assert ds.y.shape == (0,) and ds.y.dtype == np.int64
    assert ds.class_names == ["no", "yes"] and ds.task == "binary"


def test_csv_parses_a_large_file_exactly(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 5)).astype(np.float32)
    y = rng.integers(0, 3, 2000)
    lines = ["f0,f1,f2,f3,f4,t"] + [
        ",".join(repr(float(v)) for v in row) + f",c{label}"
        for row, label in zip(X, y, strict=True)
    ]
    ds = load_csv(write(tmp_path, "\n".join(lines)), target="t")
    np.testing.assert_array_equal(ds.X, X)
    np.testing.assert_array_equal(ds.y, y)


# ------------------------------------------------------------------------------ NPZ


def test_npz_round_trip_with_custom_keys_and_image_flattening(tmp_path):
    images = np.arange(4 * 3 * 2, dtype=np.float64).reshape(4, 3, 2)
    np.savez(tmp_path / "d.npz", images=images, target=np.array([5, 9, 5, 9]))
    ds = load_npz(tmp_path / "d.npz", x_key="images", y_key="target")
    assert ds.X.shape == (4, 6) and ds.X.dtype == np.float32
    np.testing.assert_array_equal(ds.X, images.reshape(4, 6))
    assert ds.y.tolist() == [0, 1, 0, 1] and ds.class_names == ["5", "9"]


def test_npz_string_labels_become_class_indices(tmp_path):
    np.savez(tmp_path / "d.npz", X=np.eye(3), y=np.array(["b", "a", "c"]))
    ds = load_npz(tmp_path / "d.npz")
    assert ds.y.tolist() == [1, 0, 2] and ds.class_names == ["a", "b", "c"]


def test_npz_missing_key_lists_the_keys_present(tmp_path):
    np.savez(tmp_path / "d.npz", features=np.eye(2), labels=np.array([0, 1]))
    with pytest.raises(ValueError, match="no array 'X'; it holds: features, labels"):
        load_npz(tmp_path / "d.npz")


def test_npz_object_arrays_are_refused_without_unpickling(tmp_path):
    np.savez(tmp_path / "d.npz", X=np.eye(2), y=np.array([0, "a"], dtype=object))
    with pytest.raises(ValueError, match="object array.*unpickling"):
        load_npz(tmp_path / "d.npz")


def test_npz_rejects_non_finite_features_and_mismatched_lengths(tmp_path):
    np.savez(tmp_path / "nan.npz", X=np.array([[1.0], [np.nan]]), y=np.array([0, 1]))
    with pytest.raises(ValueError, match="NaN or infinite values in 1 rows.*row 1"):
        load_npz(tmp_path / "nan.npz")
    np.savez(tmp_path / "len.npz", X=np.eye(3), y=np.array([0, 1]))
    with pytest.raises(ValueError, match="expected 'y' of shape \\(3,\\)"):
        load_npz(tmp_path / "len.npz")


def test_npz_rejects_files_that_are_not_archives(tmp_path):
    np.save(tmp_path / "single.npy", np.eye(2))
    with pytest.raises(ValueError, match="single array"):
        load_npz(tmp_path / "single.npy")
    (tmp_path / "junk.npz").write_bytes(b"not an archive at all")
    with pytest.raises(ValueError, match="not a readable .npz"):
        load_npz(tmp_path / "junk.npz")


# ------------------------------------------------------------------------------ IDX


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize(
    "dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]
)
def test_idx_round_trip_keeps_values_dtype_and_shape(tmp_path, dtype, suffix):
    array = (np.arange(2 * 3 * 4) - 5).reshape(2, 3, 4).astype(dtype)
    path = write_idx(tmp_path / f"a.idx{suffix}", array)
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype) and back.shape == (2, 3, 4)
    np.testing.assert_array_equal(back, array)


def test_idx_header_is_the_mnist_magic_number_and_big_endian_sizes(tmp_path):
    path = write_idx(tmp_path / "labels", np.array([7, 2, 1], dtype=np.uint8))
    assert path.read_bytes() == bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 2, 1])
    gz = write_idx(tmp_path / "labels.gz", np.array([7, 2, 1], dtype=np.uint8))
    assert gzip.decompress(gz.read_bytes()) == path.read_bytes()


def test_load_idx_flattens_images_scales_uint8_and_reads_labels(tmp_path):
    images = np.zeros((3, 2, 2), dtype=np.uint8)
    images[1, 0, 1] = 255
    images[2, 1, 1] = 51
    write_idx(tmp_path / "images-idx3-ubyte.gz", images)
    write_idx(tmp_path / "labels-idx1-ubyte.gz", np.array([4, 0, 4], dtype=np.uint8))
    ds = load_idx(tmp_path / "images-idx3-ubyte.gz", tmp_path / "labels-idx1-ubyte.gz")
    assert ds.X.dtype == np.float32 and ds.X.shape == (3, 4)
    assert ds.X[1].tolist() == [0, 1, 0, 0] and ds.X[2, 3] == pytest.approx(0.2)
    assert ds.y.tolist() == [1, 0, 1] and ds.class_names == ["0", "4"]
    assert ds.feature_names == ["pixel_0_0", "pixel_0_1", "pixel_1_0", "pixel_1_1"]


def test_load_idx_without_labels_gives_empty_y(tmp_path):
    write_idx(tmp_path / "x.idx", np.ones((2, 3), dtype=np.float32))
    ds = load_idx(tmp_path / "x.idx")
    assert ds.X.tolist() == [[1, 1, 1], [1, 1, 1]] and ds.y.shape == (0,)


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_truncated_idx_file_gives_a_clear_error(tmp_path, suffix):
    content = write_idx(tmp_path / "full", np.zeros((4, 5, 5), np.uint8)).read_bytes()
    cut = content[:-7]
    path = tmp_path / f"cut{suffix}"
    path.write_bytes(gzip.compress(cut) if suffix else cut)
    with pytest.raises(
        ValueError,
        match="truncated: shape \\(4, 5, 5\\) of uint8 needs"
        " 100 bytes of data, the file has 93",
    ):
        read_idx(path)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"\x01\x02\x08\x01", "not an IDX file"),
        (bytes([0, 0, 0x42, 1, 0, 0, 0, 1, 0]), "unknown IDX dtype code 0x42"),
        (bytes([0, 0, 8, 3, 0, 0]), "truncated: its header declares 3 dimensions"),
        (bytes([0, 0, 8, 1, 0, 0, 0, 1, 5, 6]), "1 bytes after the data"),
        (gzip.compress(bytes([0, 0, 8, 1, 0, 0, 0, 1, 5]))[:-6], "damaged gzip"),
    ],
)
def test_malformed_idx_files_are_rejected(tmp_path, content, message):
    (tmp_path / "bad").write_bytes(content)
    with pytest.raises(ValueError, match=message):
        read_idx(tmp_path / "bad")


def test_load_idx_rejects_swapped_files_and_mismatched_counts(tmp_path):
    labels = write_idx(tmp_path / "labels", np.array([0, 1, 1], np.uint8))
    images = write_idx(tmp_path / "images", np.zeros((2, 2, 2), np.uint8))
    with pytest.raises(ValueError, match="looks like labels"):
        load_idx(labels, images)
    with pytest.raises(ValueError, match="3 labels but images has 2 images"):
        load_idx(images, labels)


def test_write_idx_rejects_dtypes_idx_cannot_store(tmp_path):
    with pytest.raises(TypeError, match="IDX files store uint8.*int64"):
        write_idx(tmp_path / "x", np.zeros(3, dtype=np.int64))


# --------------------------------------------------------------------------- splits


def test_split_sizes_are_disjoint_and_cover_every_sample():
    X = np.arange(100, dtype=np.float32).reshape(50, 2)
    y = np.repeat([0, 1], 25)
    parts = train_val_test_split(X, y, val=0.2, test=0.2, seed=1)
    sizes = [len(parts.train[0]), len(parts.val[0]), len(parts.test[0])]
    assert sizes == [30, 10, 10]
    ids = np.concatenate([part[0][:, 0] for part in parts])
    assert sorted(ids.tolist()) == X[:, 0].tolist()  # disjoint and complete
    for features, labels in parts:  # rows keep their own labels
        np.testing.assert_array_equal(y[(features[:, 0] // 2).astype(int)], labels)


def test_stratified_split_keeps_class_proportions_in_every_part():
    y = np.repeat([0, 1, 2], [60, 30, 10])
    X = np.arange(100, dtype=np.float32)[:, None]
    parts = train_val_test_split(X, y, val=0.2, test=0.1, seed=0)
    assert np.bincount(parts.train[1]).tolist() == [42, 21, 7]
    assert np.bincount(parts.val[1]).tolist() == [12, 6, 2]
    assert np.bincount(parts.test[1]).tolist() == [6, 3, 1]


def test_unstratified_split_does_not_keep_proportions_exactly():
    y = np.repeat([0, 1], [80, 20])
    X = np.zeros((100, 1))
    counts = {
        tuple(
            np.bincount(
                train_val_test_split(X, y, stratify=False, seed=s).val[1], minlength=2
            )
        )
        for s in range(10)
    }
    assert counts != {(16, 4)}


def test_split_is_reproducible_by_seed():
    X, y = np.arange(40.0)[:, None], np.repeat([0, 1], 20)
    first = train_val_test_split(X, y, val=0.25, seed=5)
    again = train_val_test_split(X, y, val=0.25, seed=5)
    other = train_val_test_split(X, y, val=0.25, seed=6)
    np.testing.assert_array_equal(first.val[0], again.val[0])
    assert not np.array_equal(first.val[0], other.val[0])


def test_split_with_zero_fractions_returns_none_parts():
    X, y = np.arange(6.0)[:, None], np.array([0, 1] * 3)
    parts = train_val_test_split(X, y, val=0.0)
    assert parts.val is None and parts.test is None
    np.testing.assert_array_equal(parts.train[0], X)


def test_split_falls_back_to_random_when_a_class_is_too_small():
    X, y = np.arange(10.0)[:, None], np.array([0] * 9 + [1])
    with pytest.warns(UserWarning, match="Cannot stratify the val split"):
        parts = train_val_test_split(X, y, val=0.3, seed=0)
    assert len(parts.train[0]) == 7 and len(parts.val[0]) == 3


def test_float_targets_are_split_without_stratifying():
    X, y = np.arange(10.0)[:, None], np.linspace(0, 1, 10)
    parts = train_val_test_split(X, y, val=0.2)
    assert len(parts.val[1]) == 2


@pytest.mark.parametrize(
    "val, test, message",
    [
        (1.0, 0.0, "val to be a fraction in \\[0, 1\\), received: 1.0"),
        (-0.1, 0.0, "val to be a fraction"),
        (0.2, 1.5, "test to be a fraction"),
        (0.5, 0.5, "val \\+ test < 1"),
    ],
)
def test_split_rejects_bad_fractions(val, test, message):
    with pytest.raises(ValueError, match=message):
        train_val_test_split(np.zeros((10, 1)), np.zeros(10, int), val=val, test=test)


def test_split_rejects_mismatched_lengths_and_too_few_samples():
    with pytest.raises(ValueError, match="X has 3 samples but y has 2"):
        train_val_test_split(np.zeros((3, 1)), np.zeros(2, int))
    with pytest.raises(ValueError, match="Cannot split 1 samples"):
        train_val_test_split(np.zeros((1, 1)), np.zeros(1), val=0.5)


def _sklearn_split(X, y, fraction, stratify, seed):
    """scikit-learn's train_test_split as train_val_test_split uses it: stratified
    if it can be, else at random; None when it cannot split at all."""
    from sklearn.model_selection import train_test_split

    for labels in ([y] if stratify else []) + [None]:
        try:
            return train_test_split(
                X, y, test_size=fraction, random_state=seed, stratify=labels
            )
        except ValueError:
            continue
    return None


@settings(max_examples=150, deadline=None)
@given(
    n_samples=st.integers(1, 60),
    n_classes=st.integers(1, 5),
    label_step=st.sampled_from([1, 7]),  # 7: labels 0, 7, 14 sort differently as text
    column=st.booleans(),
    fraction=st.floats(0.01, 0.95),
    stratify=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
    data=st.data(),
)
def test_split_equals_scikit_learns_train_test_split(
    n_samples, n_classes, label_step, column, fraction, stratify, seed, data
):
    """A validation split gives exactly the parts, rows and order of scikit-learn's
    train_test_split(test_size=val, random_state=seed, stratify=y) (and of its
    random split where stratifying cannot work), for 1-D and (n, 1) labels, though
    deepgrad never imports scikit-learn to split; where scikit-learn cannot split
    at all, neither can deepgrad."""
    y = label_step * np.array(
        data.draw(
            st.lists(
                st.integers(0, n_classes - 1), min_size=n_samples, max_size=n_samples
            )
        )
    )
    y = y[:, None] if column else y
    X = np.arange(2.0 * n_samples).reshape(n_samples, 2)
    expected = _sklearn_split(X, y, fraction, stratify, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the fallback's warning is tested apart
        if expected is None:
            with pytest.raises(ValueError, match=f"Cannot split {n_samples} samples"):
                train_val_test_split(X, y, val=fraction, stratify=stratify, seed=seed)
            return
        parts = train_val_test_split(X, y, val=fraction, stratify=stratify, seed=seed)
    X_train, X_val, y_train, y_val = expected
    for got, want in zip(
        [*parts.train, *parts.val], [X_train, y_train, X_val, y_val], strict=True
    ):
        np.testing.assert_array_equal(got, want)


def test_three_way_split_equals_two_scikit_learn_splits():
    """val and test parts are scikit-learn's test split first, then its validation
    split of the rest with val / (1 - test): the same rows in the same order."""
    from sklearn.model_selection import train_test_split

    X = np.arange(200.0).reshape(100, 2)
    y = np.repeat([0, 1, 2], [50, 30, 20])
    parts = train_val_test_split(X, y, val=0.2, test=0.1, seed=11)
    rest_X, X_test, rest_y, y_test = train_test_split(
        X, y, test_size=0.1, random_state=11, stratify=y
    )
    X_train, X_val, y_train, y_val = train_test_split(
        rest_X, rest_y, test_size=0.2 / 0.9, random_state=11, stratify=rest_y
    )
    expected = [X_train, y_train, X_val, y_val, X_test, y_test]
    for got, want in zip(
        [*parts.train, *parts.val, *parts.test], expected, strict=True
    ):
        np.testing.assert_array_equal(got, want)


def test_splits_and_generated_sets_do_not_import_scikit_learn(monkeypatch):
    """With scikit-learn unimportable, generated sets load and split (stratified,
    and at random for float targets): the base install's data path."""
    monkeypatch.setitem(sys.modules, "sklearn", None)
    ds = load_dataset("blobs", n_samples=60, seed=2)
    parts = train_val_test_split(ds.X, ds.y, val=0.2, test=0.2, seed=0)
    assert [np.bincount(part[1]).tolist() for part in parts] == [
        [12, 12, 12],
        [4, 4, 4],
        [4, 4, 4],
    ]
    floats = train_val_test_split(ds.X, ds.X[:, 0], val=0.25, seed=0)
    assert len(floats.val[0]) == 15


# ------------------------------------------------------------ standardizer, one_hot


def test_standardizer_matches_sklearn_and_is_fitted_on_train_only():
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    train = rng.normal(3.0, 2.0, size=(40, 3)).astype(np.float32)
    val = rng.normal(-5.0, 9.0, size=(10, 3)).astype(np.float32)
    scaler = Standardizer().fit(train)
    reference = StandardScaler().fit(train.astype(np.float64))
    np.testing.assert_allclose(scaler.mean_, reference.mean_, rtol=1e-12)
    np.testing.assert_allclose(scaler.scale_, reference.scale_, rtol=1e-12)
    transformed = scaler.transform(val)
    assert transformed.dtype == np.float32
    np.testing.assert_allclose(transformed, reference.transform(val), rtol=1e-5)
    # statistics come from train: the validation data is *not* centred
    assert np.abs(transformed.mean(axis=0)).min() > 1.0
    np.testing.assert_allclose(scaler.fit_transform(train).mean(axis=0), 0, atol=1e-6)


def test_standardizer_gives_constant_features_scale_one():
    X = np.array([[0.1, 1.0], [0.1, 3.0], [0.1, 5.0]])
    scaler = Standardizer().fit(X)
    assert scaler.scale_[0] == 1.0
    np.testing.assert_allclose(scaler.transform(X)[:, 0], 0.0, atol=1e-15)


def test_standardizer_dict_round_trip_through_json_gives_identical_output():
    X = np.random.default_rng(1).normal(size=(20, 4)).astype(np.float32)
    scaler = Standardizer().fit(X)
    restored = Standardizer.from_dict(json.loads(json.dumps(scaler.to_dict())))
    np.testing.assert_array_equal(restored.mean_, scaler.mean_)
    np.testing.assert_array_equal(restored.transform(X), scaler.transform(X))
    np.testing.assert_allclose(
        restored.inverse_transform(restored.transform(X)), X, rtol=1e-5, atol=1e-6
    )


def test_standardizer_errors_name_the_problem():
    with pytest.raises(ValueError, match="not fitted yet"):
        Standardizer().transform(np.zeros((2, 2)))
    scaler = Standardizer().fit(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="Expected 2 features.*shape \\(3, 5\\)"):
        scaler.transform(np.zeros((3, 5)))
    with pytest.raises(ValueError, match="keys 'mean' and 'scale'"):
        Standardizer.from_dict({"mean": [0.0]})
    with pytest.raises(ValueError, match="positive scales"):
        Standardizer.from_dict({"mean": [0.0], "scale": [0.0]})


def test_one_hot_encodes_indices_as_float32_rows():
    encoded = one_hot(np.array([[2], [0], [1]]), num_classes=4)
    assert encoded.dtype == np.float32
    assert encoded.tolist() == [[0, 0, 1, 0], [1, 0, 0, 0], [0, 1, 0, 0]]
    assert one_hot([1, 1]).shape == (2, 2)


@pytest.mark.parametrize(
    "labels, num_classes, message",
    [
        ([0, 3], 3, "in \\[0, 3\\), received labels from 0 to 3"),
        ([-1, 0], None, "received labels from -1"),
        ([0.5, 1.0], None, "integer class indices"),
    ],
)
def test_one_hot_rejects_labels_out_of_range_or_not_integers(
    labels, num_classes, message
):
    with pytest.raises(ValueError, match=message):
        one_hot(np.array(labels), num_classes)


# ------------------------------------------------------------------------- examples


@pytest.mark.parametrize(
    "module", [datasets_module, files_module, preprocessing_module]
)
def test_docstring_examples_run(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
