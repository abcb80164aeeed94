from django.urls import include, path

urlpatterns = [path("", include("phone_verify.urls"))]
