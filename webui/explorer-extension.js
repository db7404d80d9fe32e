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

  // Kerma's quantities (GET quantities) by key, read once: a total reads "DLP 502.4 mGy·cm", not its field name
  var quantities = null;
  function withQuantities(then) {
    if (quantities) { return then(quantities); }
    $.ajax({ url: '../kerma/api/quantities', dataType: 'json',
      success: function (data) {
        quantities = {};
        $.each(data.quantities, function (i, q) { quantities[q.key] = q; });
        then(quantities);
      },
      error: function () { then({}); } });
  }

  function shown(known, name, value) {
    var q = known[name], number = Number(value.toPrecision(4));
    return q ? q.label + ' ' + number + (q.unit_display ? ' ' + q.unit_display : '') : name + ' ' + number;
  }

  $('#study').live('pagebeforeshow', function () {
    var label = $('#kerma-dose .ui-btn-text');
    $.ajax({ url: '../studies/' + $.mobile.pageData.uuid, dataType: 'json', success: function (study) {
      $.ajax({ url: '../kerma/api/studies/' + encodeURIComponent(study.MainDicomTags.StudyInstanceUID), dataType: 'json',
        success: function (dose) { withQuantities(function (known) {
          var parts = [];
          $.each(dose.totals, function (name, value) {
            if (typeof value === 'number' && /total|activity/.test(name)) { parts.push(shown(known, name, value)); }
          });
          label.text('Dose: ' + (parts.length ? parts.join(', ') : 'no totals') + ' (' + (dose.source || '?') + ')');
        }); },
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
