"""rows_of: the rows asked for, the array itself (no copy) when that is all of them in order."""

import numpy as np

from visframe.utils.arrays import rows_of


def test_all_rows_in_order_are_the_array_itself_and_any_other_selection_is_taken():
    values = np.arange(12.0).reshape(6, 2)
    assert rows_of(values, np.arange(6)) is values
    np.testing.assert_array_equal(rows_of(values, np.array([5, 4, 3, 2, 1, 0])), values[::-1])
    np.testing.assert_array_equal(rows_of(values, np.array([0, 2])), values[[0, 2]])
    np.testing.assert_array_equal(rows_of(values, np.array([0, 0, 1, 2, 3, 4])), values[[0, 0, 1, 2, 3, 4]])


def test_unit_rows_are_scikit_learns_normalize_in_the_dtype_asked_and_leave_the_input_alone():
    from sklearn.preprocessing import normalize

    from visframe.utils.arrays import unit_rows

    values = np.random.default_rng(2).normal(size=(50, 7)).astype(np.float32)
    values[3] = 0.0  # a zero row stays zero
    before = values.copy()
    for dtype in (np.float32, np.float64):
        unit = unit_rows(values, dtype)
        assert unit.dtype == dtype
        np.testing.assert_allclose(unit, normalize(values.astype(dtype)), atol=1e-6)
    np.testing.assert_array_equal(values, before)
