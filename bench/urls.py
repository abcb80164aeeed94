from django.urls import path

from bench.floor import OpenView
from bench.views import DRFTokenView, KnoxView
from cheershare.urls import urlpatterns as product_urlpatterns

urlpatterns = [
    path("bench/open", OpenView.as_view()),
    path("bench/drf-token", DRFTokenView.as_view()),
    path("bench/knox", KnoxView.as_view()),
    *product_urlpatterns,
]
