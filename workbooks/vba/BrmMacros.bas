Attribute VB_Name = "BrmMacros"
' The buttons on the Home sheet call these subs. Each runs brm_xl through xlwings'
' RunPython on this workbook; the Python side saves the workbook first and reports back
' in a message box. Source: workbooks/vba/BrmMacros.bas (build: workbooks/build_template.py).
Option Explicit

Public Sub BrmRefresh()
    RunPython "import brm_xl.excel.macros as m; m.refresh()"
End Sub

Public Sub BrmCheck()
    RunPython "import brm_xl.excel.macros as m; m.check()"
End Sub

Public Sub BrmReports()
    RunPython "import brm_xl.excel.macros as m; m.make_reports()"
End Sub

Public Sub BrmEmailDrafts()
    RunPython "import brm_xl.excel.macros as m; m.make_email_drafts()"
End Sub

Public Sub BrmSendEmails()
    RunPython "import brm_xl.excel.macros as m; m.send_emails()"
End Sub

Public Sub BrmCloseMonth()
    RunPython "import brm_xl.excel.macros as m; m.close_month()"
End Sub
