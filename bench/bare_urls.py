from django.urls import path

from bench.floor import OpenView

urlpatterns = [path("bench/open", OpenView.as_view()), path("healthz", OpenView.as_view())]
