import test from 'ava';
import { fmt, markdownTable, median, medianRange, quantile, ratio } from '../../../bench/lib/stats.js';

test('median of odd and even counts, unsorted input', (t) => {
  t.is(median([3, 1, 2]), 2);
  t.is(median([4, 1, 3, 2]), 2.5);
  t.true(Number.isNaN(median([])));
});

test('quantile by nearest rank: p99 of 100 values is the 99th, of 10 it is the largest', (t) => {
  const hundred = Array.from({ length: 100 }, (_, i) => 100 - i);
  t.is(quantile(hundred, 0.99), 99);
  t.is(quantile(hundred, 0.5), 50);
  t.is(quantile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.99), 10);
});

test('cells: digits follow the size, ranges and ratios', (t) => {
  t.is(fmt(396.4), '396');
  t.is(fmt(26.44), '26.4');
  t.is(fmt(1.234), '1.23');
  t.is(fmt(0.1234), '0.123');
  t.is(medianRange([10, 30, 20]), '20.0 (10.0–30.0)');
  t.is(ratio(99, 396), '0.25×');
  t.is(ratio(1, 0), '–');
});

test('one Markdown table with padded columns', (t) => {
  t.is(markdownTable([['a', 'bb'], ['ccc', 'd']]), '| a   | bb |\n|-----|----|\n| ccc | d  |');
});
