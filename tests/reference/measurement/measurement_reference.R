# Reference values for evalkit's measurement code (scales/, weighting/, survey/).
#
# Run from this directory:   Rscript measurement_reference.R
# Writes: bfi.csv, apistrat.csv, apiclus1.csv (the public example data, so the
# Python tests run without R), reference_values.csv (long format: case,
# statistic, term, value), efa_loadings.csv, raked_weights.csv and versions.txt.
# The tests in tests/scales, tests/weighting and tests/survey read these files;
# they never call R. Regenerate only when R or a package version changes, and
# commit the new versions.txt with the outputs.
#
# Data: psych::bfi (Revelle; 2800 SAPA respondents, 25 personality items on a
# 1-6 scale) and survey::api (California Academic Performance Index samples:
# apistrat = stratified SRS by school type, apiclus1 = one-stage cluster sample
# of 15 school districts), both documented example data of their packages.

suppressPackageStartupMessages({
  library(psych)
  library(survey)
  library(lavaan)
  library(GPArotation)
  library(lme4)
})

options(digits = 15)
out <- list()
add <- function(case, statistic, term, value) {
  out[[length(out) + 1]] <<- data.frame(case = case, statistic = statistic,
                                        term = as.character(term),
                                        value = as.numeric(value))
}

# ---------------------------------------------------------------- bfi data ----
data(bfi, package = "psych")
bfi_out <- bfi
bfi_out$respondent_id <- rownames(bfi)
write.csv(bfi_out, "bfi.csv", row.names = FALSE, na = "")

# reverse-keyed items (psych's bfi.keys): scored as 7 - x on the 1-6 scale
reverse <- c("A1", "C4", "C5", "E1", "E2", "O2", "O5")
scored <- bfi
for (v in reverse) scored[[v]] <- 7 - scored[[v]]
constructs <- list(
  agree = paste0("A", 1:5), consc = paste0("C", 1:5), extra = paste0("E", 1:5),
  neuro = paste0("N", 1:5), open = paste0("O", 1:5)
)

for (cn in names(constructs)) {
  items <- constructs[[cn]]
  for (deletion in c("pairwise", "listwise")) {
    x <- scored[, items]
    if (deletion == "listwise") x <- na.omit(x)
    # call: psych::alpha(x)  (use = "pairwise" is psych's default)
    a <- psych::alpha(x, warnings = FALSE)
    case <- paste0("alpha_", cn, "_", deletion)
    add(case, "n_obs", "", nrow(x))
    add(case, "alpha", "", a$total$raw_alpha)
    add(case, "alpha_std", "", a$total$std.alpha)
    add(case, "average_r", "", a$total$average_r)
    add(case, "ase", "", a$total$ase)
    add(case, "feldt_lower", "", a$feldt$lower.ci)
    add(case, "feldt_upper", "", a$feldt$upper.ci)
    add(case, "total_mean", "", a$total$mean)
    add(case, "total_sd", "", a$total$sd)
    for (i in seq_along(items)) {
      add(case, "alpha_if_deleted", items[i], a$alpha.drop$raw_alpha[i])
      add(case, "alpha_se_if_deleted", items[i], a$alpha.drop[["alpha se"]][i])
      add(case, "r_item_total", items[i], a$item.stats$raw.r[i])
      add(case, "r_corrected", items[i], a$item.stats$r.drop[i])
      add(case, "item_n", items[i], a$item.stats$n[i])
      add(case, "item_mean", items[i], a$item.stats$mean[i])
      add(case, "item_sd", items[i], a$item.stats$sd[i])
    }
  }
  # one-factor model, listwise: lavaan CFA (ML) and psych::fa (ML)
  x <- na.omit(scored[, items])
  model <- paste("f =~", paste(items, collapse = " + "))
  # call: lavaan::cfa(model, data = x, std.lv = TRUE, estimator = "ML")
  fit <- lavaan::cfa(model, data = x, std.lv = TRUE, estimator = "ML")
  pe <- lavaan::parameterEstimates(fit)
  lam <- pe$est[pe$op == "=~"]
  theta <- pe$est[pe$op == "~~" & pe$lhs == pe$rhs & pe$lhs %in% items]
  case <- paste0("omega_", cn)
  add(case, "n_obs", "", nrow(x))
  add(case, "omega_total", "", sum(lam)^2 / (sum(lam)^2 + sum(theta)))
  std <- lavaan::standardizedSolution(fit)
  std_lam <- std$est.std[std$op == "=~"]
  for (i in seq_along(items)) add(case, "std_loading_lavaan", items[i], std_lam[i])
  # call: psych::fa(x, nfactors = 1, fm = "ml")
  f1 <- psych::fa(x, nfactors = 1, fm = "ml")
  l1 <- as.numeric(f1$loadings[, 1])
  if (sum(l1) < 0) l1 <- -l1
  for (i in seq_along(items)) add(case, "std_loading_psych_fa", items[i], l1[i])
  # psych's own omega (correlation scale, observed total variance); for information
  om <- suppressWarnings(suppressMessages(
    psych::omega(x, nfactors = 1, fm = "ml", plot = FALSE)))
  add(case, "omega_tot_psych", "", om$omega.tot)
}

# EFA: all 25 items (reverse-keyed ones scored), listwise, 5 factors, ML, oblimin
x25 <- na.omit(scored[, unlist(constructs)])
# call: psych::fa(x25, nfactors = 5, fm = "ml", rotate = "oblimin")
efa <- psych::fa(x25, nfactors = 5, fm = "ml", rotate = "oblimin")
L <- unclass(efa$loadings)
efa_out <- data.frame(item = rownames(L), L, communality = efa$communality,
                      row.names = NULL)
write.csv(efa_out, "efa_loadings.csv", row.names = FALSE)
add("efa_bfi", "n_obs", "", nrow(x25))

# ------------------------------------------------------------- survey / api ----
data(api, package = "survey")
keep <- c("cds", "stype", "dnum", "snum", "api00", "api99", "enroll", "meals",
          "sch.wide", "awards", "pw", "fpc")
write.csv(apistrat[, keep], "apistrat.csv", row.names = FALSE, na = "")
write.csv(apiclus1[, keep], "apiclus1.csv", row.names = FALSE, na = "")

svy_add <- function(case, est, df = NULL) {
  nm <- names(coef(est))
  add(case, "estimate", nm, coef(est))
  add(case, "std_error", nm, SE(est))
  if (!is.null(attr(est, "deff"))) add(case, "deff", nm, diag(as.matrix(attr(est, "deff"))))
}

# stratified SRS, with and without FPC
# call: svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = apistrat)
dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = apistrat)
dstrat_nofpc <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat)
svy_add("strat_fpc_mean", svymean(~api00 + api99, dstrat))
svy_add("strat_nofpc_mean", svymean(~api00 + api99, dstrat_nofpc, deff = "replace"))
b <- svyby(~api00, ~stype, dstrat_nofpc, svymean)
add("strat_nofpc_by_stype", "estimate", b$stype, b$api00)
add("strat_nofpc_by_stype", "std_error", b$stype, SE(b))
b <- svyby(~api00, ~stype, dstrat, svymean)
add("strat_fpc_by_stype", "estimate", b$stype, b$api00)
add("strat_fpc_by_stype", "std_error", b$stype, SE(b))

# one-stage cluster sample (15 districts)
# call: svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = apiclus1)
dclus1 <- svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = apiclus1)
dclus1_nofpc <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1)
svy_add("clus1_fpc_mean", svymean(~api00 + api99, dclus1))
svy_add("clus1_nofpc_mean", svymean(~api00 + api99 + enroll, dclus1_nofpc, deff = "replace"))
add("clus1_nofpc_mean", "degf", "", degf(dclus1_nofpc))
# domain estimates that cut across clusters
b <- svyby(~api00, ~stype, dclus1_nofpc, svymean)
add("clus1_nofpc_by_stype", "estimate", b$stype, b$api00)
add("clus1_nofpc_by_stype", "std_error", b$stype, SE(b))
b <- svyby(~api00, ~stype, dclus1, svymean)
add("clus1_fpc_by_stype", "estimate", b$stype, b$api00)
add("clus1_fpc_by_stype", "std_error", b$stype, SE(b))
# proportions: a factor's level shares and a logit CI
svy_add("clus1_nofpc_prop", svymean(~sch.wide, dclus1_nofpc))
ci <- svyciprop(~I(sch.wide == "Yes"), dclus1_nofpc, method = "logit", df = degf(dclus1_nofpc))
add("clus1_nofpc_ciprop", "estimate", "Yes", coef(ci))
add("clus1_nofpc_ciprop", "ci_lower", "Yes", confint(ci)[1])
add("clus1_nofpc_ciprop", "ci_upper", "Yes", confint(ci)[2])
# t-based CI with design df
cf <- confint(svymean(~api00, dclus1_nofpc), df = degf(dclus1_nofpc))
add("clus1_nofpc_ci", "ci_lower", "api00", cf[1])
add("clus1_nofpc_ci", "ci_upper", "api00", cf[2])

# strata and clusters together: districts nested in school type
# call: svydesign(id = ~dnum, strata = ~stype, weights = ~pw, data = apistrat, nest = TRUE)
dsc <- svydesign(id = ~dnum, strata = ~stype, weights = ~pw, data = apistrat, nest = TRUE)
svy_add("stratclus_mean", svymean(~api00 + meals, dsc))
add("stratclus_mean", "degf", "", degf(dsc))

# post-stratification and raking (documented examples in ?postStratify, ?rake),
# iterated to full convergence
pop.types <- data.frame(stype = c("E", "H", "M"), Freq = c(4421, 755, 1018))
pop.schwide <- data.frame(sch.wide = c("No", "Yes"), Freq = c(1072, 5122))
# call: postStratify(dclus1_nofpc, ~stype, pop.types)
dps <- postStratify(dclus1_nofpc, ~stype, pop.types)
add("poststratify_clus1", "estimate", "api00", coef(svymean(~api00, dps)))
add("poststratify_clus1", "std_error_calibrated", "api00", SE(svymean(~api00, dps)))
w_ps <- weights(dps)
# call: rake(dclus1_nofpc, list(~stype, ~sch.wide), list(pop.types, pop.schwide),
#            control = list(maxit = 100, epsilon = 1e-10))
drk <- rake(dclus1_nofpc, list(~stype, ~sch.wide), list(pop.types, pop.schwide),
            control = list(maxit = 100, epsilon = 1e-10))
w_rk <- weights(drk)
add("rake_clus1", "estimate", "api00", coef(svymean(~api00, drk)))
add("rake_clus1", "std_error_calibrated", "api00", SE(svymean(~api00, drk)))
# SE with the raked weights treated as fixed sampling weights (what evalkit computes)
apiclus1_rk <- apiclus1
apiclus1_rk$w_rk <- w_rk
dfix <- svydesign(id = ~dnum, weights = ~w_rk, data = apiclus1_rk)
add("rake_clus1", "std_error_fixed_weights", "api00", SE(svymean(~api00, dfix)))
# trimming (survey's additive redistribution), on the raked weights
# call: trimWeights(drk, upper = 40, lower = 20, strict = TRUE)
dtr <- trimWeights(drk, upper = 40, lower = 20, strict = TRUE)
w_tr <- weights(dtr)
write.csv(data.frame(cds = apiclus1$cds, w_poststratified = w_ps, w_raked = w_rk,
                     w_trimmed = w_tr),
          "raked_weights.csv", row.names = FALSE)

# ------------------------------------------------------------------- ICC ----
# call: lme4::lmer(api00 ~ 1 + (1 | dnum), data = apiclus1, REML = TRUE)
m <- lme4::lmer(api00 ~ 1 + (1 | dnum), data = apiclus1, REML = TRUE)
vc <- as.data.frame(lme4::VarCorr(m))
tau2 <- vc$vcov[vc$grp == "dnum"]
sig2 <- vc$vcov[vc$grp == "Residual"]
add("icc_clus1_api00", "icc_reml", "", tau2 / (tau2 + sig2))
add("icc_clus1_api00", "between_var_reml", "", tau2)
add("icc_clus1_api00", "within_var_reml", "", sig2)
# one-way ANOVA estimator: mean squares from aov
# call: aov(api00 ~ factor(dnum), data = apiclus1)
av <- summary(aov(api00 ~ factor(dnum), data = apiclus1))[[1]]
msb <- av[["Mean Sq"]][1]
msw <- av[["Mean Sq"]][2]
nj <- table(apiclus1$dnum)
N <- sum(nj); J <- length(nj)
n0 <- (N - sum(nj^2) / N) / (J - 1)
add("icc_clus1_api00", "msb", "", msb)
add("icc_clus1_api00", "msw", "", msw)
add("icc_clus1_api00", "icc_anova", "", (msb - msw) / (msb + (n0 - 1) * msw))

res <- do.call(rbind, out)
write.csv(res, "reference_values.csv", row.names = FALSE)

pk <- c("psych", "survey", "lavaan", "GPArotation", "lme4")
writeLines(c(
  paste("R:", R.version.string),
  paste("platform:", R.version$platform),
  paste0(pk, ": ", sapply(pk, function(p) as.character(packageVersion(p)))),
  "source: Debian bookworm packages r-base-core r-cran-psych r-cran-survey r-cran-gparotation r-cran-lavaan r-cran-lme4",
  paste("generated:", format(Sys.Date()))
), "versions.txt")
