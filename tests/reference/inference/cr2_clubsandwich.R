# Reference values for evalkit.inference.cr2_vcov (CR2 + Satterthwaite dof).
#
# Run from the repository root (writes next to this script):
#   Rscript tests/reference/inference/cr2_clubsandwich.R
#
# Produced with R 4.2.2 (Debian 4.2.2.20221110-2), clubSandwich 0.5.8 (Debian
# r-cran-clubsandwich 0.5.8-1), sandwich 3.0-2 (r-cran-sandwich 3.0-2-1),
# jsonlite (Debian). The exact versions of the run are written into the JSON
# ("software").
#
# Datasets (all ship with installable R packages and are exported to CSV here so
# the Python tests never need R):
#   mortality_mv.csv     clubSandwich::MortalityRates, motor-vehicle deaths, 1970-1983,
#                        51 states (Carpenter & Dobkin 2011 MLDA panel; clubSandwich
#                        vignette "Cluster-robust standard errors and hypothesis tests
#                        in panel data models")
#   achievement_2001.csv clubSandwich::AchievementAwardsRCT, year 2001, 39 schools
#                        (Angrist & Lavy 2009)
#   petersen.csv         sandwich::PetersenCL, 500 firms x 10 years (Petersen 2009)
#
# Every call is recorded verbatim in the JSON ("call"), so the Python test can say
# exactly what it compares with.

suppressPackageStartupMessages({
  library(clubSandwich)
  library(sandwich)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
out_dir <- if (length(script)) dirname(normalizePath(script)) else "tests/reference/inference"

cases <- list()

record <- function(name, call_text, fit, cluster, coefs, extra = list()) {
  V <- vcovCR(fit, cluster = cluster, type = "CR2")
  ct <- coef_test(fit, vcov = V, test = "Satterthwaite", coefs = coefs)
  Vm <- as.matrix(V)[coefs, coefs, drop = FALSE]
  cases[[name]] <<- c(list(
    call = call_text,
    coefs = coefs,
    estimate = unname(coef(fit)[coefs]),
    vcov_cr2 = unname(Vm),
    se_cr2 = unname(ct$SE),
    df_satterthwaite = unname(ct$df_Satt),
    p_satterthwaite = unname(ct$p_Satt),
    n_obs = nobs(fit),
    n_clusters = length(unique(cluster))
  ), extra)
}

# ---- 1. MortalityRates: state and year fixed effects, clustered by state -----------
data(MortalityRates)
MV <- subset(MortalityRates, cause == "Motor Vehicle" & year <= 1983 & !is.na(beertaxa))
MV <- MV[order(MV$state, MV$year), c("state", "year", "pop", "legal", "beertaxa", "mrate")]
write.csv(MV, file.path(out_dir, "mortality_mv.csv"), row.names = FALSE)

fit_u <- lm(mrate ~ 0 + legal + beertaxa + factor(state) + factor(year), data = MV)
record("mortality_unweighted",
       paste("lm(mrate ~ 0 + legal + beertaxa + factor(state) + factor(year), data = MV);",
             "coef_test(fit, vcov = vcovCR(fit, cluster = MV$state, type = 'CR2'),",
             "test = 'Satterthwaite', coefs = c('legal', 'beertaxa'))"),
       fit_u, MV$state, c("legal", "beertaxa"))

fit_w <- lm(mrate ~ 0 + legal + beertaxa + factor(state) + factor(year), weights = pop, data = MV)
record("mortality_weighted",
       paste("lm(mrate ~ 0 + legal + beertaxa + factor(state) + factor(year), weights = pop, data = MV);",
             "coef_test(fit, vcov = vcovCR(fit, cluster = MV$state, type = 'CR2'),",
             "test = 'Satterthwaite', coefs = c('legal', 'beertaxa'))",
             "# clubSandwich default for weighted lm: inverse_var = FALSE, target = identity"),
       fit_w, MV$state, c("legal", "beertaxa"))

# ---- 2. AchievementAwardsRCT 2001: school-level treatment, 39 schools ---------------
data(AchievementAwardsRCT)
AA <- subset(AchievementAwardsRCT, year == "2001")
AA <- data.frame(
  school_id = AA$school_id, pair = AA$pair, treated = AA$treated,
  girl = as.integer(AA$sex == "Girl"), siblings = AA$siblings, immigrant = AA$immigrant,
  father_ed = AA$father_ed, mother_ed = AA$mother_ed, lagscore = AA$lagscore,
  school_type = as.character(AA$school_type), bagrut = AA$Bagrut_status
)
write.csv(AA, file.path(out_dir, "achievement_2001.csv"), row.names = FALSE)
aa_formula <- bagrut ~ treated + girl + siblings + immigrant + father_ed + mother_ed + lagscore + school_type
aa_coefs <- c("(Intercept)", "treated", "girl", "siblings", "immigrant", "father_ed", "mother_ed",
              "lagscore", "school_typeReligious", "school_typeSecular")
fit_aa <- lm(aa_formula, data = AA)
record("achievement_all",
       paste("lm(bagrut ~ treated + girl + siblings + immigrant + father_ed + mother_ed + lagscore",
             "+ school_type, data = AA); coef_test(fit, vcov = vcovCR(fit, cluster = AA$school_id,",
             "type = 'CR2'), test = 'Satterthwaite')"),
       fit_aa, AA$school_id, aa_coefs)

# few clusters: the first six matched pairs (12 schools, 6 treated)
AA6 <- subset(AA, pair <= 6)
fit_aa6 <- lm(bagrut ~ treated + girl + siblings + lagscore, data = AA6)
record("achievement_pairs1to6",
       paste("AA6 <- subset(AA, pair <= 6); lm(bagrut ~ treated + girl + siblings + lagscore, data = AA6);",
             "coef_test(fit, vcov = vcovCR(fit, cluster = AA6$school_id, type = 'CR2'),",
             "test = 'Satterthwaite')"),
       fit_aa6, AA6$school_id, c("(Intercept)", "treated", "girl", "siblings", "lagscore"))

# few clusters with weights (weights = lagscore + 1, an arbitrary positive weight)
fit_aa6w <- lm(bagrut ~ treated + girl + siblings, weights = siblings + 1, data = AA6)
record("achievement_pairs1to6_weighted",
       paste("lm(bagrut ~ treated + girl + siblings, weights = siblings + 1, data = AA6);",
             "coef_test(fit, vcov = vcovCR(fit, cluster = AA6$school_id, type = 'CR2'),",
             "test = 'Satterthwaite')"),
       fit_aa6w, AA6$school_id, c("(Intercept)", "treated", "girl", "siblings"))

# ---- 3. PetersenCL: 500 firms; also the CR1 (Stata-type) vcov for the t statistic ---
data(PetersenCL)
write.csv(PetersenCL, file.path(out_dir, "petersen.csv"), row.names = FALSE)
fit_p <- lm(y ~ x, data = PetersenCL)
V1 <- vcovCL(fit_p, cluster = ~firm, type = "HC1", cadjust = TRUE)
record("petersen",
       paste("lm(y ~ x, data = PetersenCL); coef_test(fit, vcov = vcovCR(fit, cluster =",
             "PetersenCL$firm, type = 'CR2'), test = 'Satterthwaite');",
             "sandwich::vcovCL(fit, cluster = ~firm, type = 'HC1', cadjust = TRUE)"),
       fit_p, PetersenCL$firm, c("(Intercept)", "x"),
       extra = list(vcov_cr1_stata = unname(as.matrix(V1))))

out <- list(
  software = list(
    R = R.version.string,
    clubSandwich = as.character(packageVersion("clubSandwich")),
    sandwich = as.character(packageVersion("sandwich")),
    jsonlite = as.character(packageVersion("jsonlite"))
  ),
  generated_by = "tests/reference/inference/cr2_clubsandwich.R",
  cases = cases
)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, matrix = "rowmajor"),
           file.path(out_dir, "cr2_clubsandwich.json"))
cat("wrote", file.path(out_dir, "cr2_clubsandwich.json"), "\n")
