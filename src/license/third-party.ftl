<#-- THIRD-PARTY.txt of the release (license-maven-plugin add-third-party, in package): one line per bundled
     library, "(LICENCE) [(LICENCE) ...] Name (groupId:artifactId:version - URL)". -->
<#function licenseFormat licenses>
    <#assign result = ""/>
    <#list licenses as license>
        <#assign result = result + "(" + license + ") "/>
    </#list>
    <#return result>
</#function>
<#function artifactFormat p>
    <#if p.name?index_of('Unnamed') &gt; -1>
        <#return p.artifactId + " (" + p.groupId + ":" + p.artifactId + ":" + p.version + " - " + (p.url!"no url defined") + ")">
    <#else>
        <#return p.name + " (" + p.groupId + ":" + p.artifactId + ":" + p.version + " - " + (p.url!"no url defined") + ")">
    </#if>
</#function>
medsearch is licensed under the Apache License, Version 2.0 (LICENSE). It bundles the following
${dependencyMap?size} third-party libraries (lib/), each under the licence(s) in parentheses, with its Maven
coordinates and project page; the licence texts are in the libraries' jars or on those pages. The
CycloneDX SBOM (sbom/) lists the same libraries.

<#list dependencyMap as e>
<#assign project = e.getKey()/>
<#assign licenses = e.getValue()/>
${licenseFormat(licenses)}${artifactFormat(project)}
</#list>
