-- wrk script for bench/web.sh: cycles through typical catalog searches (text, facets, both, paging, sorting).
local paths = {
  "/?q=mimikatz", "/?q=powershell", "/?q=meshagent&tactic=command-and-control&level=medium",
  "/?q=rundll32", "/?q=lsass", "/?tactic=credential-access", "/?level=critical", "/?q=certutil",
  "/?q=%22scheduled+task%22", "/?technique=T1059.001", "/?q=wmic&level=high", "/?q=psexec",
  "/?product=linux", "/?q=registry+run+key", "/?q=cobalt", "/?status=stable&sort=newest",
  "/?q=base64&page=2", "/?q=vssadmin", "/?category=process_creation&level=high", "/?q=-powershell+encoded",
  "/?author=Florian+Roth+(Nextron+Systems)", "/?q=T1218", "/?regression=yes", "/?q=sysmon&sort=level",
}
local i = 0
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
