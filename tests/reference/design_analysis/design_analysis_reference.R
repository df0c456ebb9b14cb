# Reference values for the specifications of evalkit.design_analysis on the demo city (outcome
# gain). Run from this folder after `python export_demo.py` (writes demo_residents.csv):
#   Rscript design_analysis_reference.R
# Writes design_analysis_reference.csv (case, quantity, term, value) and the versions.
suppressPackageStartupMessages({ library(lme4); library(ordinal); library(clubSandwich) })
d <- read.csv("demo_residents.csv", colClasses = c(community_id = "character"))
years <- grep("^year_", names(d), value = TRUE)
covs <- c("age_decades", "female", "migrant")
out <- list()
put <- function(case, quantity, term, value) {
  out[[length(out) + 1]] <<- data.frame(case = case, quantity = quantity, term = term,
                                        value = as.numeric(value), stringsAsFactors = FALSE)
}

## multilevel: residents in communities, random intercept and random slope of pilot x post
f <- as.formula(paste("gain ~ pilot + pilot_post +", paste(c(years, covs), collapse = " + "),
                      "+ (1 + pilot_post | community_id)"))
m <- lmer(f, data = d, REML = TRUE)
fe <- summary(m)$coefficients
put("multilevel", "estimate", "pilot_post", fe["pilot_post", "Estimate"])
put("multilevel", "std_error", "pilot_post", fe["pilot_post", "Std. Error"])
vc <- as.data.frame(VarCorr(m))
cell <- function(v1, v2) which(vc$grp == "community_id" & vc$var1 %in% v1 & (if (is.na(v2)) is.na(vc$var2) else vc$var2 %in% v2))
put("multilevel", "variance", "(Intercept)", vc$vcov[cell("(Intercept)", NA)])
put("multilevel", "variance", "pilot_post", vc$vcov[cell("pilot_post", NA)])
put("multilevel", "correlation", "(Intercept):pilot_post", vc$sdcor[cell("(Intercept)", "pilot_post")])
put("multilevel", "variance", "residual", sigma(m)^2)
put("multilevel", "loglik", "", as.numeric(logLik(m)))

## ordered logit of the first gain item: pilot, pilot x post, year dummies, resident covariates
o <- d[!is.na(d$gain_1) & complete.cases(d[, c(years, covs)]), ]
fo <- as.formula(paste("factor(gain_1) ~ pilot + pilot_post +", paste(c(years, covs), collapse = " + ")))
cm <- clm(fo, data = o)
put("ordered_logit", "estimate", "pilot_post", coef(cm)["pilot_post"])
put("ordered_logit", "loglik", "", as.numeric(logLik(cm)))

## pre-post within pilots: community fixed effects, resident covariates, CR2 + Satterthwaite
p <- d[d$pilot == 1 & !is.na(d$gain) & complete.cases(d[, covs]), ]
fp <- as.formula(paste("gain ~ pilot_post +", paste(covs, collapse = " + "), "+ factor(community_id)"))
lp <- lm(fp, data = p)
ct <- coef_test(lp, vcov = "CR2", cluster = p$community_id, test = "Satterthwaite", coefs = "pilot_post")
put("pre_post", "estimate", "pilot_post", ct$beta)
put("pre_post", "std_error", "pilot_post", ct$SE)
put("pre_post", "df", "pilot_post", ct$df_Satt)

write.csv(do.call(rbind, out), "design_analysis_reference.csv", row.names = FALSE)
writeLines(c(R.version.string, paste("lme4", packageVersion("lme4")),
             paste("ordinal", packageVersion("ordinal")),
             paste("clubSandwich", packageVersion("clubSandwich"))),
           "design_analysis_reference_versions.txt")
