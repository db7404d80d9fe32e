// Orthanc Explorer: a "Dose" button on study and patient pages (loaded by Kerma's plugin at start).
(function () {
  function button(id, label) {
    return $('<a>').attr('id', id).attr('data-role', 'button').attr('href', '#').attr('data-icon', 'info').attr('data-theme', 'e').text(label);
  }

  $('#study').live('pagebeforecreate', function () {
    var b = button('kerma-dose', 'Dose');
    b.insertBefore($('#study-delete').parent().parent());
    b.click(function () {
      $.ajax({ url: '../studies/' + $.mobile.pageData.uuid, dataType: 'json', success: function (study) {
        window.location.href = '../kerma/ui/index.html#/studies/' + encodeURIComponent(study.MainDicomTags.StudyInstanceUID);
      } });
      return false;
    });
  });

  $('#study').live('pagebeforeshow', function () {
    var label = $('#kerma-dose .ui-btn-text');
    $.ajax({ url: '../studies/' + $.mobile.pageData.uuid, dataType: 'json', success: function (study) {
      $.ajax({ url: '../kerma/api/studies/' + encodeURIComponent(study.MainDicomTags.StudyInstanceUID), dataType: 'json',
        success: function (dose) {
          var parts = [];
          $.each(dose.totals, function (name, value) {
            if (typeof value === 'number' && /total|activity/.test(name)) { parts.push(name + ' ' + Number(value.toPrecision(4))); }
          });
          label.text('Dose: ' + (parts.length ? parts.join(', ') : 'no totals') + ' (' + (dose.source || '?') + ')');
        },
        error: function () { label.text('Dose: no dose record'); } });
    } });
  });

  $('#patient').live('pagebeforecreate', function () {
    var b = button('kerma-patient-dose', 'Dose records');
    b.insertBefore($('#patient-delete').parent().parent());
    b.click(function () {
      $.ajax({ url: '../patients/' + $.mobile.pageData.uuid, dataType: 'json', success: function (patient) {
        window.location.href = '../kerma/ui/index.html#/studies?patient_id=' + encodeURIComponent(patient.MainDicomTags.PatientID);
      } });
      return false;
    });
  });
})();
