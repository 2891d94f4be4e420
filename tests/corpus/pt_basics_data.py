# Title: Learn the Basics: Datasets & DataLoaders (a custom Dataset)
# Source: https://pytorch.org/tutorials/beginner/basics/data_tutorial.html (pytorch/tutorials, beginner_source/basics/data_tutorial.py)
# Licence: BSD-3-Clause (pytorch/tutorials)
# Changes: torch.manual_seed(0) added so both runs shuffle alike; the image files are generated here (a labels CSV and 28x28 images saved with np.save, read back with np.load + torch.from_numpy where the tutorial calls torchvision's decode_image); the plotting lines (plt.imshow, plt.show) dropped
# Tolerance: float32
import os

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset
from torch.utils.data import DataLoader

torch.manual_seed(0)

# The files the tutorial reads, generated: 100 images of 28x28 and their labels.
os.makedirs("images", exist_ok=True)
pixels = np.random.default_rng(0).integers(0, 256, (100, 1, 28, 28), dtype=np.uint8)
for index, image in enumerate(pixels):
    np.save(os.path.join("images", f"img_{index}.npy"), image)
pd.DataFrame({"file": [f"img_{i}.npy" for i in range(100)],
              "label": [i % 10 for i in range(100)]}).to_csv("labels.csv", index=False)


class CustomImageDataset(Dataset):
    def __init__(self, annotations_file, img_dir, transform=None, target_transform=None):
        self.img_labels = pd.read_csv(annotations_file)
        self.img_dir = img_dir
        self.transform = transform
        self.target_transform = target_transform

    def __len__(self):
        return len(self.img_labels)

    def __getitem__(self, idx):
        img_path = os.path.join(self.img_dir, self.img_labels.iloc[idx, 0])
        image = torch.from_numpy(np.load(img_path))
        label = self.img_labels.iloc[idx, 1]
        if self.transform:
            image = self.transform(image)
        if self.target_transform:
            label = self.target_transform(label)
        return image, label


training_data = CustomImageDataset("labels.csv", "images")
test_data = CustomImageDataset("labels.csv", "images")

train_dataloader = DataLoader(training_data, batch_size=64, shuffle=True)
test_dataloader = DataLoader(test_data, batch_size=64, shuffle=True)

# Display image and label.
train_features, train_labels = next(iter(train_dataloader))
print(f"Feature batch shape: {train_features.size()}")
print(f"Labels batch shape: {train_labels.size()}")
img = train_features[0].squeeze()
label = train_labels[0]
print(f"Label: {label}")
