# Reference values for evalkit.power (two means, two proportions, cluster designs).
#
# Run:  Rscript pwr_reference.R      (writes pwr_reference.csv and pwr_versions.txt here)
#
# * pwr (Champely 2020), the Debian package r-cran-pwr: pwr.t.test, pwr.t2n.test,
#   pwr.2p.test, pwr.2p2n.test, ES.h.
# * PowerUpR 1.1.0 (Bulus, Dong, Kelcey & Spybrook 2021; CRAN), installed from the CRAN
#   source into a private library: R CMD INSTALL -l /tmp/rlib PowerUpR_1.1.0.tar.gz
#   (set R_LIBS=/tmp/rlib). mdes.cra2r2 / power.cra2r2 / mrss.cra2r2 implement Bloom's
#   (2005) two-level cluster-randomised formulas (Dong & Maynard 2013, design CRA2_2r).
suppressPackageStartupMessages({library(pwr); library(PowerUpR)})
rows <- list()
add <- function(case, call, quantity, value) {
  rows[[length(rows) + 1]] <<- data.frame(case = case, call = call, quantity = quantity,
                                          value = sprintf("%.12g", value))
}
quiet <- function(expr) { utils::capture.output(v <- expr); v }

# ---- two means (pwr.t.test: two-sample, equal n) ---------------------------------------
for (d in c(0.2, 0.5, 0.8)) for (pw in c(0.8, 0.9)) {
  call <- sprintf("pwr.t.test(d = %g, power = %g, sig.level = 0.05)", d, pw)
  add(sprintf("t_n_d%g_p%g", d, pw), call, "n_per_group", pwr.t.test(d = d, power = pw, sig.level = 0.05)$n)
}
for (n in c(20, 64, 200)) {
  call <- sprintf("pwr.t.test(n = %g, d = 0.4, sig.level = 0.05)", n)
  add(sprintf("t_power_n%g", n), call, "power", pwr.t.test(n = n, d = 0.4, sig.level = 0.05)$power)
  call <- sprintf("pwr.t.test(n = %g, power = 0.8, sig.level = 0.05)", n)
  add(sprintf("t_d_n%g", n), call, "effect_size", pwr.t.test(n = n, power = 0.8, sig.level = 0.05)$d)
}
add("t_power_greater", "pwr.t.test(n = 50, d = 0.4, alternative = 'greater')", "power",
    pwr.t.test(n = 50, d = 0.4, alternative = "greater")$power)
add("t_power_alpha01", "pwr.t.test(n = 50, d = 0.4, sig.level = 0.01)", "power",
    pwr.t.test(n = 50, d = 0.4, sig.level = 0.01)$power)
add("t2n_power", "pwr.t2n.test(n1 = 40, n2 = 80, d = 0.5)", "power", pwr.t2n.test(n1 = 40, n2 = 80, d = 0.5)$power)
add("t2n_d", "pwr.t2n.test(n1 = 40, n2 = 80, power = 0.8)", "effect_size",
    pwr.t2n.test(n1 = 40, n2 = 80, power = 0.8)$d)

# ---- two proportions (Cohen's h, normal approximation) ---------------------------------
for (pp in list(c(0.5, 0.6), c(0.3, 0.4), c(0.7, 0.8), c(0.1, 0.15))) {
  h <- ES.h(pp[2], pp[1])
  call <- sprintf("pwr.2p.test(h = ES.h(%g, %g), power = 0.8)", pp[2], pp[1])
  add(sprintf("2p_n_%g_%g", pp[1], pp[2]), call, "n_per_group", pwr.2p.test(h = h, power = 0.8)$n)
  call <- sprintf("pwr.2p.test(h = ES.h(%g, %g), n = 150)", pp[2], pp[1])
  add(sprintf("2p_power_%g_%g", pp[1], pp[2]), call, "power", pwr.2p.test(h = h, n = 150)$power)
}
add("2p_h_n200", "pwr.2p.test(n = 200, power = 0.8)", "effect_size", pwr.2p.test(n = 200, power = 0.8)$h)
add("2p2n_power", "pwr.2p2n.test(h = ES.h(0.6, 0.5), n1 = 150, n2 = 300)", "power",
    pwr.2p2n.test(h = ES.h(0.6, 0.5), n1 = 150, n2 = 300)$power)

# ---- cluster-randomised, two levels (PowerUpR, CRA2_2r) --------------------------------
grid <- expand.grid(rho2 = c(0.05, 0.17), n = c(15, 40), J = c(12, 20, 40), r22 = c(0, 0.5),
                    r21 = c(0, 0.3), g2 = c(0, 1), p = c(0.5, 0.3))
grid <- grid[seq(1, nrow(grid), by = 3), ]
for (i in seq_len(nrow(grid))) {
  g <- grid[i, ]
  args <- sprintf("rho2 = %g, n = %g, J = %g, r22 = %g, r21 = %g, g2 = %g, p = %g",
                  g$rho2, g$n, g$J, g$r22, g$r21, g$g2, g$p)
  key <- sprintf("cra2_%g_%g_%g_%g_%g_%g_%g", g$rho2, g$n, g$J, g$r22, g$r21, g$g2, g$p)
  m <- quiet(mdes.cra2r2(rho2 = g$rho2, n = g$n, J = g$J, r22 = g$r22, r21 = g$r21, g2 = g$g2, p = g$p))
  add(paste0(key, "_mdes"), sprintf("mdes.cra2r2(%s)", args), "effect", m$mdes[1])
  pw <- quiet(power.cra2r2(es = 0.4, rho2 = g$rho2, n = g$n, J = g$J, r22 = g$r22, r21 = g$r21, g2 = g$g2, p = g$p))
  add(paste0(key, "_power"), sprintf("power.cra2r2(es = 0.4, %s)", args), "power", pw$power)
}
for (es in c(0.25, 0.4)) for (rho2 in c(0.05, 0.17)) for (n in c(15, 40)) {
  r <- quiet(mrss.cra2r2(es = es, rho2 = rho2, n = n))
  add(sprintf("mrss_%g_%g_%g", es, rho2, n), sprintf("mrss.cra2r2(es = %g, rho2 = %g, n = %g)", es, rho2, n),
      "n_clusters", r$J)
}
one <- quiet(mdes.cra2r2(rho2 = 0.17, n = 15, J = 20, alpha = 0.05, two.tailed = FALSE))
add("cra2_one_tailed", "mdes.cra2r2(rho2 = 0.17, n = 15, J = 20, two.tailed = FALSE)", "effect", one$mdes[1])

out <- do.call(rbind, rows)
write.csv(out, "pwr_reference.csv", row.names = FALSE)
writeLines(c(R.version.string,
             paste("pwr", as.character(packageVersion("pwr"))),
             paste("PowerUpR", as.character(packageVersion("PowerUpR")))), "pwr_versions.txt")
