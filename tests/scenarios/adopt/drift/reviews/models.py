from django.db import models


class Review(models.Model):
    book_title = models.CharField(max_length=200)
    stars = models.IntegerField()
    verified = models.BooleanField()
