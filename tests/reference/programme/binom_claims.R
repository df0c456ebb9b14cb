# Reference values for evalkit.programme.claims: exact (Clopper–Pearson) intervals and
# one-sided exact binomial tests from binom.test, Wilson intervals from prop.test(correct = FALSE).
# Run: Rscript binom_claims.R > binom_claims.csv
cases <- data.frame(
  x = c(21, 57, 0, 10, 95, 1658, 18, 3),
  n = c(29, 59, 12, 10, 100, 1700, 20, 40),
  p = c(1.0, 0.9, 0.5, 1.0, 0.9, 0.95, 0.9, 0.1)
)
out <- do.call(rbind, lapply(seq_len(nrow(cases)), function(i) {
  x <- cases$x[i]; n <- cases$n[i]; p <- cases$p[i]
  cp <- binom.test(x, n, p = p)$conf.int
  wi <- suppressWarnings(prop.test(x, n, correct = FALSE)$conf.int)
  less <- binom.test(x, n, p = p, alternative = "less")$p.value
  greater <- if (p < 1) binom.test(x, n, p = p, alternative = "greater")$p.value else NA
  data.frame(x = x, n = n, p = p, cp_lower = cp[1], cp_upper = cp[2], wilson_lower = wi[1],
             wilson_upper = wi[2], p_less = less, p_greater = greater)
}))
cat(sprintf("# %s; stats %s\n", R.version.string, packageVersion("stats")))
write.csv(out, stdout(), row.names = FALSE)
