# Reference for evalkit.intake.quality.item_rest_correlations and the reversed-item check.
# Data: psych::bfi, Agreeableness items A1-A5 (complete cases). A1 ("Am indifferent to the
# feelings of others") is reverse-keyed in psych's own scoring key (bfi.keys: "-A1").
# Output: the items as CSV, and psych::alpha(..., check.keys = FALSE)$item.stats$r.drop.
suppressPackageStartupMessages(library(psych))
x <- na.omit(bfi[, c("A1", "A2", "A3", "A4", "A5")])
write.csv(x, "bfi_agreeableness.csv", row.names = FALSE)
a <- alpha(x, check.keys = FALSE, warnings = FALSE)
out <- data.frame(item = rownames(a$item.stats), r_drop = a$item.stats$r.drop)
write.csv(out, "bfi_agreeableness_r_drop.csv", row.names = FALSE)
writeLines(c(R.version.string, paste("psych", packageVersion("psych")),
             "call: psych::alpha(na.omit(bfi[, c('A1','A2','A3','A4','A5')]), check.keys = FALSE)$item.stats$r.drop",
             paste("bfi.keys agree:", paste(bfi.keys$agree, collapse = " "))),
           "versions.txt")
