"""Demo applications for the demo citizen, one at each interesting point of the workflow.

Run after `seed_demo`; does nothing when the citizen already has applications.
Documents go through the real upload pipeline (checked, re-encoded, stored).
"""

from __future__ import annotations

import datetime as dt
import io

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from PIL import Image, ImageDraw

from accounts.models import User
from applications import review, services, workflow
from applications.models import Application, Document, Service
from applications.workflow import Status
from offices import demo
from offices.models import Office


def _sample_scan(label: str) -> SimpleUploadedFile:
    image = Image.new("RGB", (640, 400), "#eef2f6")
    draw = ImageDraw.Draw(image)
    draw.rectangle((20, 20, 620, 380), outline="#0b3d6b", width=4)
    draw.text((40, 40), f"CONTOH / SAMPLE: {label}", fill="#0b3d6b")
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=80)
    return SimpleUploadedFile(f"{label}.jpg", buffer.getvalue(), content_type="image/jpeg")


class Command(BaseCommand):
    help = "Create demo applications for the demo citizen (draft, sent, revision, ready)."

    def handle(self, *args, **options):
        try:
            citizen = User.objects.get(email=demo.CITIZEN["email"])
            officer = User.objects.get(email=demo.OFFICERS[0]["email"])
            office = Office.objects.get(code="LTG")
        except (User.DoesNotExist, Office.DoesNotExist) as error:
            raise CommandError("Run `manage.py seed_demo` first.") from error
        if Application.objects.filter(applicant=citizen).exists():
            self.stdout.write("Demo applications already exist.")
            return
        with transaction.atomic():
            self._draft(citizen, office)
            sent = self._complete(citizen, office, "paspor-biasa-baru")
            services.application_submit(application=sent, by=citizen, declaration=True)
            revision = self._complete(citizen, office, "paspor-penggantian-habis")
            services.application_submit(application=revision, by=citizen, declaration=True)
            first = revision.documents.select_related("requirement").first()
            review.application_request_revision(
                application=revision,
                by=officer,
                note="Foto halaman paspor lama kurang jelas; mohon unggah ulang.",
                documents=[first],
            )
            ready = self._complete(citizen, office, "paspor-elektronik-baru", family=True)
            services.application_submit(application=ready, by=citizen, declaration=True)
            for to in (Status.AWAITING_PAYMENT, Status.PAID, Status.SCHEDULED, Status.INTERVIEWED):
                workflow.transition(ready, to, by=None)
            ready.documents.update(state=Document.State.ACCEPTED)
            review.application_approve(application=ready, by=officer)
            review.application_mark_ready(application=ready, by=officer)
        self.stdout.write(self.style.SUCCESS("Demo applications ready for " + citizen.email))

    def _draft(self, citizen, office):
        service = Service.objects.get(code="paspor-elektronik-baru")
        application = services.application_start(
            user=citizen, service=service, office=office, person=None
        )
        services.application_save_applicant(application=application, data=self._applicant(citizen))

    @staticmethod
    def _applicant(person, **extra) -> dict:
        return {
            "full_name": person.full_name,
            "date_of_birth": person.date_of_birth,
            "place_of_birth": "Gunung Sugih",
            "sex": person.sex,
            "address": person.address,
            "father_name": "Slamet Riyadi",
            "mother_name": "Sri Wahyuni",
            "nik": "",
            **extra,
        }

    def _complete(self, citizen, office, code: str, *, family: bool = False) -> Application:
        service = Service.objects.get(code=code)
        person = None
        if family:
            person = services.person_save(
                owner=citizen,
                data={
                    "relationship": "child",
                    "full_name": "Bima Lestari",
                    "nik": "1802011203150002",
                    "date_of_birth": dt.date(2015, 3, 12),
                    "place_of_birth": "Gunung Sugih",
                    "sex": "L",
                    "address": citizen.address,
                    "father_name": "Rudi Hartono",
                    "mother_name": citizen.full_name,
                },
            )
        application = services.application_start(
            user=citizen, service=service, office=office, person=person
        )
        data = self._applicant(person or citizen)
        if person is not None:
            data.update(
                father_name=person.father_name, mother_name=person.mother_name, nik=person.nik
            )
        services.application_save_applicant(application=application, data=data)
        services.application_save_details(
            application=application,
            data={
                "travel_purpose": "pilgrimage",
                "destination": "Arab Saudi",
                "passport_number": "B1234567",
            },
        )
        for requirement in service.requirements.all():
            services.document_upload(
                application=application,
                requirement=requirement,
                upload=_sample_scan(requirement.code),
            )
        application.refresh_from_db()
        return application
