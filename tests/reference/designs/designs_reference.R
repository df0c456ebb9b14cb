# Reference values for evalkit.designs (matching, weighting, multilevel, ordered logit,
# covariance estimators). Run from this folder:  Rscript designs_reference.R
# Writes the data sets as CSV and every reference number to designs_reference.csv
# (columns: case, quantity, term, value). Versions go to designs_reference_versions.txt.
suppressPackageStartupMessages({
  library(MatchIt); library(sandwich); library(lmtest); library(lme4); library(ordinal)
  library(clubSandwich); library(numDeriv)
})
out <- list()
put <- function(case, quantity, term, value) {
  out[[length(out) + 1]] <<- data.frame(case = case, quantity = quantity, term = term,
                                        value = as.numeric(value), stringsAsFactors = FALSE)
}

## ---- LaLonde (MatchIt::lalonde) -------------------------------------------------------
data("lalonde", package = "MatchIt")
ll <- lalonde
ll$black <- as.integer(ll$race == "black"); ll$hispan <- as.integer(ll$race == "hispan")
write.csv(ll[, c("treat", "age", "educ", "black", "hispan", "married", "nodegree", "re74",
                 "re75", "re78")], "lalonde.csv", row.names = FALSE)
f <- treat ~ age + educ + black + hispan + married + nodegree + re74 + re75
covs <- c("age", "educ", "black", "hispan", "married", "nodegree", "re74", "re75")
ps_fit <- glm(f, data = ll, family = binomial)
for (nm in names(coef(ps_fit))) put("propensity", "coef", nm, coef(ps_fit)[nm])

balance <- function(m, case) {
  s <- summary(m, standardize = TRUE)
  for (part in c("sum.all", "sum.matched")) {
    tab <- s[[part]]
    for (v in covs) {
      put(case, paste0(part, ".mean_treated"), v, tab[v, "Means Treated"])
      put(case, paste0(part, ".mean_control"), v, tab[v, "Means Control"])
      put(case, paste0(part, ".smd"), v, tab[v, "Std. Mean Diff."])
      put(case, paste0(part, ".var_ratio"), v, tab[v, "Var. Ratio"])
    }
  }
  nn <- s$nn
  put(case, "n_matched_control", "", nn["Matched (ESS)", "Control"])
  put(case, "n_matched_treated", "", nn["Matched", "Treated"])
  put(case, "n_matched_control_units", "", nn["Matched", "Control"])
}
effect <- function(m, case, replace) {
  if (!replace) {
    md <- match.data(m)
    fit <- lm(re78 ~ treat, data = md, weights = weights)
    V <- vcovCL(fit, cluster = ~subclass)   # MatchIt vignette "Estimating effects"
  } else {
    md <- get_matches(m)
    fit <- lm(re78 ~ treat, data = md, weights = weights)
    V <- vcovCL(fit, cluster = ~subclass + id)
  }
  put(case, "att", "treat", coef(fit)["treat"])
  put(case, "att_se", "treat", sqrt(V["treat", "treat"]))
}
# MatchIt 4.5.1 (the Debian build here) has a new fast path for propensity-score distances
# that (a) ignores `caliper` (every treated unit stays matched even at caliper = 0.01, pairs
# 0.45 apart are kept) and (b) in 6 of 185 pairs takes a control that is not the nearest
# available one. MatchIt's general algorithm does neither; it is reached by passing the
# propensity-score distance as a treated x control matrix. Data are ordered treated first by
# descending propensity score (m.order = "largest"), ties by descending row number, and the
# matrix path matches in that order ("data"). Calipers are then in raw units:
# caliper * sd(ps over all units), i.e. MatchIt's std.caliper = TRUE.
ps <- fitted(ps_fit)
o <- order(-ll$treat, -ps, -seq_len(nrow(ll)))
lo <- ll[o, ]; pso <- ps[o]; rn <- o  # rn: original row number (1-based) of each ordered row
Dm <- abs(outer(pso[lo$treat == 1], pso[lo$treat == 0], "-"))
pairs_out <- list()
for (cs in list(list("nn_noreplace", Inf, FALSE), list("nn_replace", Inf, TRUE),
                list("nn_caliper", 0.1, FALSE), list("nn_caliper_replace", 0.1, TRUE))) {
  case <- cs[[1]]
  args <- list(f, data = lo, method = "nearest", distance = Dm, m.order = "data", replace = cs[[3]])
  if (is.finite(cs[[2]])) { args$caliper <- cs[[2]] * sd(ps); args$std.caliper <- FALSE }
  m <- do.call(matchit, args)
  balance(m, case); effect(m, case, cs[[3]])
  mm <- m$match.matrix; ok <- !is.na(mm[, 1])
  pairs_out[[case]] <- data.frame(case = case, treated_row = rn[match(rownames(mm)[ok], rownames(lo))],
                                  control_row = rn[match(mm[ok, 1], rownames(lo))])
}
write.csv(do.call(rbind, pairs_out), "matchit_pairs.csv", row.names = FALSE)

# Abadie-Imbens (2006) SE: Matching::Match on the same propensity score, ATT, 1 match with
# replacement, all exact ties kept (distance.tolerance = 0), heteroskedasticity-robust
# conditional variances from J = Var.calc matches
suppressPackageStartupMessages(library(Matching))
for (J in c(1, 4)) {
  mt <- Match(Y = ll$re78, Tr = ll$treat, X = ps, estimand = "ATT", M = 1, replace = TRUE,
              ties = TRUE, Var.calc = J, distance.tolerance = 0)
  case <- paste0("ai_J", J)
  put(case, "att", "treat", mt$est); put(case, "att_se", "treat", mt$se)
  put(case, "n_matched_control_units", "", length(unique(mt$index.control)))
}

## ---- IPW and AIPW by hand: stacked M-estimation, sandwich (HC0) -------------------------
X <- model.matrix(f, ll); Tr <- ll$treat; Y <- ll$re78; n <- nrow(ll); p <- ncol(X)
stacked_se <- function(theta, psi) {   # psi(theta) -> n x q matrix of estimating functions
  A <- jacobian(function(t) colMeans(psi(t)), theta)
  S <- psi(theta); B <- crossprod(S) / n
  Ai <- solve(A); Ai %*% B %*% t(Ai) / n
}
g <- coef(ps_fit); e <- as.vector(plogis(X %*% g))
# ATE (normalised / stabilised weights)
mu1 <- sum(Tr * Y / e) / sum(Tr / e); mu0 <- sum((1 - Tr) * Y / (1 - e)) / sum((1 - Tr) / (1 - e))
psi_ate <- function(t) {
  gg <- t[1:p]; ee <- as.vector(plogis(X %*% gg))
  cbind(X * (Tr - ee), Tr * (Y - t[p + 1]) / ee, (1 - Tr) * (Y - t[p + 2]) / (1 - ee))
}
V <- stacked_se(c(g, mu1, mu0), psi_ate); D <- c(rep(0, p), 1, -1)
put("ipw_ate", "estimate", "ate", mu1 - mu0); put("ipw_ate", "std_error", "ate", sqrt(D %*% V %*% D))
put("ipw_ate", "estimate", "pom1", mu1); put("ipw_ate", "estimate", "pom0", mu0)
# ATT
m1t <- mean(Y[Tr == 1]); w0 <- (1 - Tr) * e / (1 - e); m0t <- sum(w0 * Y) / sum(w0)
psi_att <- function(t) {
  gg <- t[1:p]; ee <- as.vector(plogis(X %*% gg))
  cbind(X * (Tr - ee), Tr * (Y - t[p + 1]), (1 - Tr) * ee / (1 - ee) * (Y - t[p + 2]))
}
V <- stacked_se(c(g, m1t, m0t), psi_att)
put("ipw_att", "estimate", "att", m1t - m0t); put("ipw_att", "std_error", "att", sqrt(D %*% V %*% D))
# AIPW (ATE): outcome regressions on the same covariates in each arm
b1 <- coef(lm(Y ~ X - 1, subset = Tr == 1)); b0 <- coef(lm(Y ~ X - 1, subset = Tr == 0))
m1x <- as.vector(X %*% b1); m0x <- as.vector(X %*% b0)
a1 <- mean(m1x + Tr * (Y - m1x) / e); a0 <- mean(m0x + (1 - Tr) * (Y - m0x) / (1 - e))
psi_aipw <- function(t) {
  gg <- t[1:p]; bb1 <- t[p + 1:p]; bb0 <- t[2 * p + 1:p]; ee <- as.vector(plogis(X %*% gg))
  f1 <- as.vector(X %*% bb1); f0 <- as.vector(X %*% bb0)
  cbind(X * (Tr - ee), X * Tr * (Y - f1), X * (1 - Tr) * (Y - f0),
        f1 + Tr * (Y - f1) / ee - t[3 * p + 1], f0 + (1 - Tr) * (Y - f0) / (1 - ee) - t[3 * p + 2])
}
V <- stacked_se(c(g, b1, b0, a1, a0), psi_aipw); D3 <- c(rep(0, 3 * p), 1, -1)
put("aipw_ate", "estimate", "ate", a1 - a0); put("aipw_ate", "std_error", "ate", sqrt(D3 %*% V %*% D3))
# Entropy balancing (ATT, first moments), dual by BFGS, stacked sandwich
Xc <- X[, -1]; k <- ncol(Xc); tgt <- colMeans(Xc[Tr == 1, ])
sc <- apply(Xc, 2, sd)
Z <- sweep(sweep(Xc, 2, tgt), 2, sc, "/")
dual <- function(l) log(sum(exp(Z[Tr == 0, ] %*% l)))
opt <- optim(rep(0, k), dual, method = "BFGS", control = list(reltol = 1e-14, maxit = 1000))
lam <- opt$par; wc <- as.vector(exp(Z %*% lam)) * (1 - Tr); wc <- wc / sum(wc)
for (v in colnames(Xc)) put("ebal_att", "weighted_control_mean", v, sum(wc * Xc[, v]))
eb1 <- mean(Y[Tr == 1]); eb0 <- sum(wc * Y)
psi_eb <- function(t) {
  l <- t[1:k]; m <- t[k + 1:k]; zz <- sweep(sweep(Xc, 2, m), 2, sc, "/")
  ew <- as.vector(exp(zz %*% l))
  cbind(Tr * sweep(Xc, 2, m), (1 - Tr) * ew * zz, Tr * (Y - t[2 * k + 1]),
        (1 - Tr) * ew * (Y - t[2 * k + 2]))
}
lam_c <- lam  # the dual solution is invariant to the centring constant (it cancels)
V <- stacked_se(c(lam_c, tgt, eb1, eb0), psi_eb); De <- c(rep(0, 2 * k), 1, -1)
put("ebal_att", "estimate", "att", eb1 - eb0); put("ebal_att", "std_error", "att", sqrt(De %*% V %*% De))

## ---- Multilevel: lme4 sleepstudy, random intercept and slope, REML -----------------------
data("sleepstudy", package = "lme4")
write.csv(sleepstudy, "sleepstudy.csv", row.names = FALSE)
mm <- lmer(Reaction ~ Days + (Days | Subject), data = sleepstudy, REML = TRUE)
fe <- summary(mm)$coefficients
for (nm in rownames(fe)) { put("sleepstudy", "fixef", nm, fe[nm, 1]); put("sleepstudy", "fixef_se", nm, fe[nm, 2]) }
vc <- VarCorr(mm)$Subject
put("sleepstudy", "var", "(Intercept)", vc[1, 1]); put("sleepstudy", "var", "Days", vc[2, 2])
put("sleepstudy", "cov", "(Intercept):Days", vc[1, 2]); put("sleepstudy", "var", "residual", sigma(mm)^2)
put("sleepstudy", "reml_loglik", "", logLik(mm))
Zs <- cbind(1, sleepstudy$Days)
s2_re <- mean(rowSums((Zs %*% vc) * Zs))         # Johnson (2014): mean z' Sigma z
s2_f <- var(as.vector(model.matrix(mm) %*% fixef(mm)))
s2_e <- sigma(mm)^2
put("sleepstudy", "icc_adjusted", "", s2_re / (s2_re + s2_e))
put("sleepstudy", "icc_conditional", "", s2_re / (s2_f + s2_re + s2_e))
mi <- lmer(Reaction ~ Days + (1 | Subject), data = sleepstudy, REML = TRUE)
vi <- as.data.frame(VarCorr(mi))
put("sleepstudy_ri", "var", "(Intercept)", vi$vcov[1]); put("sleepstudy_ri", "var", "residual", vi$vcov[2])
put("sleepstudy_ri", "fixef", "Days", fixef(mi)["Days"])
put("sleepstudy_ri", "fixef_se", "Days", summary(mi)$coefficients["Days", 2])

## ---- Ordered logit: ordinal::clm on wine, unweighted and weighted -----------------------
data("wine", package = "ordinal")
wn <- data.frame(rating = as.integer(wine$rating), warm = as.integer(wine$temp == "warm"),
                 contact = as.integer(wine$contact == "yes"), judge = as.integer(wine$judge))
wn$w <- 1 + (wn$judge %% 3) / 2 + 0.25 * wn$warm        # deterministic, unequal weights
write.csv(wn, "wine.csv", row.names = FALSE)
wn$rf <- factor(wn$rating, ordered = TRUE)
c0 <- clm(rf ~ warm + contact, data = wn)
c1 <- clm(rf ~ warm + contact, data = wn, weights = w)
for (pr in list(list(c0, "clm"), list(c1, "clm_weighted"))) {
  fit <- pr[[1]]; case <- pr[[2]]; cf <- coef(fit); se <- sqrt(diag(vcov(fit)))
  for (nm in names(cf)) { put(case, "coef", nm, cf[nm]); put(case, "se", nm, se[nm]) }
  put(case, "loglik", "", logLik(fit))
}
# sampling-weight sandwich for c1: per-observation scores by numerical gradient
th <- coef(c1); J <- length(th) - 2
ll_i <- function(t, i) {
  eta <- t[J + 1] * wn$warm[i] + t[J + 2] * wn$contact[i]; cut <- c(-Inf, t[1:J], Inf); r <- wn$rating[i]
  log(plogis(cut[r + 1] - eta) - plogis(cut[r] - eta))
}
S <- t(sapply(seq_len(nrow(wn)), function(i) wn$w[i] * grad(function(t) ll_i(t, i), th)))
Vs <- vcov(c1) %*% crossprod(S) %*% vcov(c1)
for (j in seq_along(th)) put("clm_weighted_sandwich", "se", names(th)[j], sqrt(Vs[j, j]))
# clustered by judge (CR0, no small-sample factor)
Sg <- rowsum(S, wn$judge); Vc <- vcov(c1) %*% crossprod(Sg) %*% vcov(c1)
for (j in seq_along(th)) put("clm_weighted_cluster", "se", names(th)[j], sqrt(Vc[j, j]))

## ---- Covariance estimators: sandwich::PetersenCL -----------------------------------------
data("PetersenCL", package = "sandwich")
write.csv(PetersenCL, "petersen_cl.csv", row.names = FALSE)
lp <- lm(y ~ x, data = PetersenCL)
vc_put <- function(name, V, df = NA) {
  for (j in 1:2) put("petersen", name, names(coef(lp))[j], sqrt(V[j, j]))
  put("petersen", paste0(name, "_cov"), "(Intercept):x", V[1, 2])
  if (!all(is.na(df))) for (j in 1:2) put("petersen", paste0(name, "_df"), names(coef(lp))[j], df[j])
}
vc_put("classical", vcov(lp))
for (h in c("HC0", "HC1", "HC2", "HC3")) vc_put(tolower(h), vcovHC(lp, type = h))
vc_put("cr0", vcovCL(lp, cluster = ~firm, type = "HC0", cadjust = FALSE))
vc_put("cr1", vcovCL(lp, cluster = ~firm, type = "HC1"))     # Stata: G/(G-1) (N-1)/(N-K)
V2 <- vcovCR(lp, cluster = PetersenCL$firm, type = "CR2")
ct <- coef_test(lp, vcov = V2, test = "Satterthwaite")
vc_put("cr2", as.matrix(V2), ct$df_Satt)
vc_put("twoway", vcovCL(lp, cluster = ~firm + year, type = "HC1"))   # Cameron-Gelbach-Miller
vc_put("twoway_hc0", vcovCL(lp, cluster = ~firm + year, type = "HC0"))

res <- do.call(rbind, out)
write.csv(res, "designs_reference.csv", row.names = FALSE)
sink("designs_reference_versions.txt")
cat(R.version.string, "\n")
for (p in c("MatchIt", "Matching", "sandwich", "lmtest", "lme4", "ordinal", "clubSandwich", "numDeriv"))
  cat(p, as.character(packageVersion(p)), "\n")
sink()
