// Placeholder
print("train-basics")
